"""Each metric against its reference implementation (or a hand computation) on fixed strings."""

from __future__ import annotations

import math
import re
import string
from collections import Counter

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from tailor.engine.eval import metrics as M

# -- the official SQuAD v1.1 evaluation script (evaluate-v1.1.py), verbatim -----------------------


def squad_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def squad_f1_score(prediction, ground_truth):
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def squad_exact_match_score(prediction, ground_truth):
    return squad_normalize_answer(prediction) == squad_normalize_answer(ground_truth)


PAIRS = [
    ("The cat sat on the mat.", "the cat sat on the mat"),
    ("Denver Broncos", "The Denver Broncos!"),
    ("a b c d", "a b c e"),
    ("Paris, France", "paris"),
    ("the the the", "the"),
    ("Tom's book", "toms book"),
    ("42", "forty-two"),
    ("red red blue", "red blue blue green"),
    ("dcba", "dcba"),
    ("ab  cd", "AB CD"),
]


@pytest.mark.parametrize(("pred", "ref"), PAIRS)
def test_exact_match_and_token_f1_match_the_squad_script(pred: str, ref: str) -> None:
    assert M.normalize_answer(pred) == squad_normalize_answer(pred)
    assert M.exact_match(pred, ref) == float(squad_exact_match_score(pred, ref))
    ours, theirs = M.token_f1(pred, ref), squad_f1_score(pred, ref)
    if squad_normalize_answer(pred) or squad_normalize_answer(ref):
        assert ours == pytest.approx(theirs)


def test_token_f1_hand_computed_and_empty_answers() -> None:
    # red red blue vs red blue blue green: common = {red: 1, blue: 1} -> P 2/3, R 2/4
    assert M.token_f1("red red blue", "red blue blue green") == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert M.token_f1("the", "a") == 1.0  # both normalise to nothing: they agree (SQuAD 2.0)
    assert M.token_f1("", "answer") == 0.0


def test_rouge_l_matches_rouge_score_and_hand_computed_lcs() -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    for pred, ref in PAIRS:
        assert M.rouge_l(pred, ref) == pytest.approx(scorer.score(ref, pred)["rougeL"].fmeasure)
    # LCS("the cat on the mat", "the cat sat on the mat") = 5 words: P = 5/5, R = 5/6
    assert M.rouge_l("the cat on the mat", "the cat sat on the mat") == pytest.approx(2 * 1 * (5 / 6) / (1 + 5 / 6))
    # LCS("b a c", "a b c") = 2: P = R = 2/3
    assert M.rouge_l("b a c", "a b c") == pytest.approx(2 / 3)


def test_bleu_matches_sacrebleu_and_hand_computation() -> None:
    preds = [p for p, _ in PAIRS]
    refs = [r for _, r in PAIRS]
    assert M.corpus_bleu(preds, refs) == pytest.approx(sacrebleu.BLEU().corpus_score(preds, [refs]).score)
    for p, r in PAIRS:
        assert M.sentence_bleu(p, r) == pytest.approx(sacrebleu.BLEU(effective_order=True).sentence_score(p, [r]).score)
    # "a b c d" vs "a b c e": precisions 3/4, 2/3, 1/2 and 0/1 (exp smoothing: 1/2), same length (BP 1)
    expected = 100 * (0.75 * (2 / 3) * 0.5 * 0.5) ** 0.25
    assert M.corpus_bleu(["a b c d"], ["a b c e"]) == pytest.approx(expected)
    assert M.corpus_bleu(["same words here ok"], ["same words here ok"]) == pytest.approx(100.0)


def test_chrf_matches_sacrebleu_and_hand_computation() -> None:
    preds = [p for p, _ in PAIRS]
    refs = [r for _, r in PAIRS]
    assert M.corpus_chrf(preds, refs) == pytest.approx(sacrebleu.CHRF().corpus_score(preds, [refs]).score)
    for p, r in PAIRS:
        assert M.sentence_chrf(p, r) == pytest.approx(sacrebleu.CHRF().sentence_score(p, [r]).score)
    # "abc" vs "abd": character 1-grams P = R = 2/3, 2-grams 1/2, 3-grams 0; higher orders absent
    assert M.sentence_chrf("abc", "abd") == pytest.approx(100 * (2 / 3 + 1 / 2 + 0) / 3)
    assert M.sentence_chrf("dcba", "dcba") == pytest.approx(100.0)
    assert M.sentence_chrf("xyz", "abc") == pytest.approx(0.0)


def test_generation_metrics_aggregate_per_example_means() -> None:
    preds, refs = ["dcba", "abcd", "zyxw"], ["dcba", "dcba", "zyxw"]
    out = M.generation_metrics(preds, refs, ["exact_match", "token_f1", "rouge_l", "bleu", "chrf"])
    assert out["exact_match"] == pytest.approx(2 / 3)
    assert out["token_f1"] == pytest.approx(2 / 3)
    assert out["rouge_l"] == pytest.approx(2 / 3)
    assert set(out) == {"exact_match", "token_f1", "rouge_l", "bleu", "chrf"}
    # BLEU and chrF are means of the sentence scores the side-by-side view shows (corpus BLEU would be 0
    # on one-word answers: no 4-grams)
    assert out["bleu"] == pytest.approx(sum(M.sentence_bleu(p, r) for p, r in zip(preds, refs, strict=True)) / 3)
    assert out["bleu"] == pytest.approx(200 / 3) and M.corpus_bleu(preds, refs) == 0.0
    assert out["chrf"] == pytest.approx(sum(M.sentence_chrf(p, r) for p, r in zip(preds, refs, strict=True)) / 3)


def test_label_metrics_hand_computed() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "a", "a", "b", None]  # None: the output named no label
    out = M.label_metrics(pred, gold, ["a", "b", "c"])
    # a: tp 3 fp 1 fn 0 -> P 3/4 R 1 F 6/7; b: tp 1 fp 0 fn 1 -> P 1 R 1/2 F 2/3; c: nothing predicted -> 0
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["precision"] == pytest.approx((3 / 4 + 1 + 0) / 3)
    assert out["recall"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert out["f1"] == pytest.approx((6 / 7 + 2 / 3 + 0) / 3)


def test_label_matching_and_guessing() -> None:
    labels = ["positive", "negative", "neutral"]
    assert M.match_label("  Positive.\nbecause...", labels) == "positive"
    assert M.match_label("negative sentiment", labels) == "negative"
    assert M.match_label("maybe", labels) is None
    assert M.guess_labels(["yes", "no", "yes", "no", "yes"]) == ["no", "yes"]
    assert M.guess_labels(["dcba", "zyxw", "qwer", "asdf"]) is None  # all distinct: not labels
    assert M.guess_labels(["a long free-form answer here", "a long free-form answer here"]) is None


def test_loss_preference_and_win_rate_hand_computed() -> None:
    out = M.loss_metrics(total_nll=6.0, total_tokens=4)
    assert out["eval_loss"] == pytest.approx(1.5)
    assert out["perplexity"] == pytest.approx(math.exp(1.5))
    pm = M.preference_metrics([-1.0, -5.0, -2.0], [-3.0, -4.0, -2.5], [-2.0, -4.0, -2.0], [-2.0, -4.0, -2.0], beta=0.5)
    assert pm["logp_accuracy"] == pytest.approx(2 / 3)
    assert pm["logp_margin"] == pytest.approx((2.0 - 1.0 + 0.5) / 3)
    # rewards: 0.5 * ((c - rc) - (r - rr)) = 0.5*(1 - -1), 0.5*(-1 - 0), 0.5*(0 - -0.5)
    assert pm["reward_accuracy"] == pytest.approx(2 / 3)
    assert pm["reward_margin"] == pytest.approx((1.0 - 0.5 + 0.25) / 3)
    assert "reward_accuracy" not in M.preference_metrics([-1.0], [-2.0])
    assert M.win_rate([1, 0.5, 0, 1]) == pytest.approx(0.625)
    assert M.win_rate([]) is None
