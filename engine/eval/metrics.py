"""Evaluation metrics: per-example scores and corpus aggregates.

Text metrics come from maintained libraries (sacrebleu for BLEU and chrF, rouge-score for ROUGE-L);
exact match and token F1 follow the official SQuAD v1.1 script; the label metrics are a few lines of
arithmetic (no scikit-learn dependency). Scales follow lm-evaluation-harness: fractions in [0, 1] for
everything except BLEU and chrF, which keep sacrebleu's 0-100.

Non-Latin text: Chinese, Japanese and Korean are written without spaces between words, and
rouge-score's tokenizer keeps only ASCII letters and digits. Token F1 and ROUGE-L therefore split
text into Unicode words with every CJK character (Han, kana, Hangul) a token of its own, the usual
character-level convention for these languages; SQuAD normalisation drops Unicode punctuation too. BLEU
uses sacrebleu's ``zh`` tokenizer for Chinese and ``char`` for Japanese/Korean (its mecab tokenizers
need extra packages); chrF is character-based already.

The catalogue (names, titles, scales, the metrics of each task) is on the recipe floor, where an eval
recipe's ``metrics:`` are checked: engine/recipes/eval_metrics.py.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

# -- SQuAD exact match and token F1 ---------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
# A CJK character alone, or a run of other word characters (Unicode letters, digits).
_WORDS = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile("[\u3040-\u30ff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")


def _is_punct(ch: str) -> bool:
    return ch in _PUNCT or unicodedata.category(ch).startswith("P")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, drop punctuation (any script) and articles, squeeze whitespace."""
    text = "".join(ch for ch in text.lower() if not _is_punct(ch))
    return " ".join(_ARTICLES.sub(" ", text).split())


def words(text: str) -> list[str]:
    """Unicode words, each CJK character a word of its own (lower-cased)."""
    return _WORDS.findall(text.lower())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    pred = words(normalize_answer(prediction))
    ref = words(normalize_answer(reference))
    if not pred or not ref:
        # SQuAD 2.0 convention: two empty answers agree; one empty answer scores 0.
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def bleu_tokenizer(texts: Sequence[str]) -> str:
    """sacrebleu's tokenizer for these texts: ``zh`` for Chinese, ``char`` for Japanese/Korean, else ``13a``."""
    joined = "".join(texts)
    if _KANA_HANGUL.search(joined):
        return "char"
    return "zh" if _HAN.search(joined) else "13a"


# -- ROUGE-L, BLEU, chrF ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    class _Words:  # rouge-score's own tokenizer drops every non-ASCII character
        def tokenize(self, text: str) -> list[str]:
            return words(text)

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_Words())


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure over Unicode words (CJK: characters)."""
    return float(_rouge_scorer().score(reference, prediction)["rougeL"].fmeasure)


def sentence_bleu(prediction: str, reference: str) -> float:
    import sacrebleu

    return float(sacrebleu.sentence_bleu(prediction, [reference], tokenize=bleu_tokenizer([reference])).score)


def sentence_chrf(prediction: str, reference: str) -> float:
    import sacrebleu

    return float(sacrebleu.sentence_chrf(prediction, [reference]).score)


def corpus_bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)], tokenize=bleu_tokenizer(references)).score)


def corpus_chrf(predictions: Sequence[str], references: Sequence[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_chrf(list(predictions), [list(references)]).score)


def text_scores(prediction: str, reference: str, metrics: Sequence[str]) -> dict[str, float]:
    """Per-example scores of one generated text for the requested generation metrics."""
    fns = {
        "exact_match": exact_match,
        "token_f1": token_f1,
        "rouge_l": rouge_l,
        "bleu": sentence_bleu,
        "chrf": sentence_chrf,
    }
    return {m: fns[m](prediction, reference) for m in metrics if m in fns}


def generation_metrics(predictions: Sequence[str], references: Sequence[str], metrics: Sequence[str]) -> dict[str, float]:
    """Means of the per-example scores, for every metric (BLEU and chrF too: sentence-level, smoothed).

    Corpus BLEU is 0 by construction on one-word answers (no 4-grams), and a table of corpus values
    would not agree with the per-example scores of the side-by-side view; the mean of sentence scores
    (sacrebleu's ``sentence_bleu`` / ``sentence_chrf``) does both right.
    """
    out: dict[str, float] = {}
    n = len(predictions)
    if n == 0:
        return out
    fns = (("exact_match", exact_match), ("token_f1", token_f1), ("rouge_l", rouge_l),
           ("bleu", sentence_bleu), ("chrf", sentence_chrf))
    for name, fn in fns:
        if name in metrics:
            out[name] = sum(fn(p, r) for p, r in zip(predictions, references, strict=True)) / n
    return out


# -- label tasks --------------------------------------------------------------------------------


def normalize_label(text: str) -> str:
    """A generated label, compared loosely: first line, case-folded, outer punctuation and spaces off."""
    first = text.strip().split("\n", 1)[0] if text.strip() else ""
    return first.strip().strip(string.punctuation + " ").casefold()


def match_label(prediction: str, labels: Sequence[str]) -> str | None:
    """The label a generation names, or None. Exact (normalised) match first, then a unique prefix."""
    norm = normalize_label(prediction)
    by_norm = {normalize_label(lab): lab for lab in labels}
    if norm in by_norm:
        return by_norm[norm]
    starts = [lab for key, lab in by_norm.items() if key and norm.startswith(key)]
    return starts[0] if len(starts) == 1 else None


def label_metrics(predicted: Sequence[str | None], gold: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-averaged precision / recall / F1 over ``labels``.

    A prediction that names no label counts as wrong (a false negative for its gold class) and adds
    no class of its own. A class that is never predicted has precision 0, as scikit-learn's
    ``zero_division=0``.
    """
    n = len(gold)
    if n == 0:
        return {}
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / n
    precisions, recalls, f1s = [], [], []
    for lab in labels:
        tp = sum(p == lab and g == lab for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == lab and g != lab for p, g in zip(predicted, gold, strict=True))
        fn = sum(p != lab and g == lab for p, g in zip(predicted, gold, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        precisions.append(prec)
        recalls.append(rec)
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    k = len(labels) or 1
    return {"accuracy": accuracy, "precision": sum(precisions) / k, "recall": sum(recalls) / k, "f1": sum(f1s) / k}


def guess_labels(references: Sequence[str], max_labels: int = 20) -> list[str] | None:
    """The label set when references look like class labels (few, short, repeated), else None."""
    distinct = sorted({r.strip() for r in references})
    if not references or not 2 <= len(distinct) <= max_labels:
        return None
    if any(len(d.split()) > 3 or len(d) > 40 for d in distinct):
        return None
    # Labels repeat: on average every label is the reference of at least two examples.
    return distinct if len(references) >= 2 * len(distinct) else None


# -- loss and preference ------------------------------------------------------------------------


def loss_metrics(total_nll: float, total_tokens: int) -> dict[str, float]:
    """Token-weighted mean negative log-likelihood of the references, and its perplexity."""
    if total_tokens <= 0:
        return {}
    loss = total_nll / total_tokens
    return {"eval_loss": loss, "perplexity": math.exp(min(loss, 700.0))}


def preference_metrics(
    chosen: Sequence[float],
    rejected: Sequence[float],
    ref_chosen: Sequence[float] | None = None,
    ref_rejected: Sequence[float] | None = None,
    beta: float = 0.1,
) -> dict[str, float]:
    """Log-likelihood preference and, against a reference model, DPO's implicit reward.

    ``logp_*``: does the model give the chosen response a higher summed log-probability than the rejected?
    ``reward_*``: TRL's ``rewards/accuracies`` and ``rewards/margins`` with the base model as reference,
    reward = beta * (log p_model - log p_ref); only defined for models other than the reference.
    """
    n = len(chosen)
    if n == 0:
        return {}
    margins = [c - r for c, r in zip(chosen, rejected, strict=True)]
    out = {"logp_accuracy": sum(m > 0 for m in margins) / n, "logp_margin": sum(margins) / n}
    if ref_chosen is not None and ref_rejected is not None:
        rewards = reward_margins(chosen, rejected, ref_chosen, ref_rejected, beta)
        out["reward_accuracy"] = sum(m > 0 for m in rewards) / n
        out["reward_margin"] = sum(rewards) / n
    return out


def reward_margins(
    chosen: Sequence[float], rejected: Sequence[float], ref_chosen: Sequence[float], ref_rejected: Sequence[float], beta: float
) -> list[float]:
    return [
        beta * ((c - rc) - (r - rr))
        for c, r, rc, rr in zip(chosen, rejected, ref_chosen, ref_rejected, strict=True)
    ]


def win_rate(outcomes: Sequence[float]) -> float | None:
    """Mean of per-example outcomes: 1 win, 0.5 tie, 0 loss (ties count half, as AlpacaEval)."""
    return sum(outcomes) / len(outcomes) if outcomes else None
