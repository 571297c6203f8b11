"""Score one model on the held-out examples: generate, compute per-example scores and corpus metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tailor.engine.eval import metrics as M
from tailor.engine.eval.generation import GenerationSettings, completion_logprobs, generate
from tailor.engine.eval.prompts import Example, render_completion, render_prompt
from tailor.engine.recipes import eval_metrics as C
from tailor.engine.recipes.eval import EvalSettings

Progress = Callable[[int, int], None]


@dataclass
class Outcome:
    outputs: list[str] | None
    scores: list[dict[str, float]]
    metrics: dict[str, float | None]
    logps: tuple[list[float], list[float]] | None = None  # (chosen, rejected) summed log-probs
    cancelled: bool = False


def choose_task(examples: list[Example], requested: str) -> str:
    if requested != "auto":
        return requested
    if examples and all(ex.chosen is not None for ex in examples):
        return "preference"
    refs = [ex.reference or "" for ex in examples]
    return "label" if M.guess_labels(refs) else "generation"


def choose_metrics(task: str, requested: list[str] | None, has_judge: bool) -> list[str]:
    out = list(requested) if requested else list(C.TASK_METRICS[task])
    if has_judge and requested is None and task in ("generation", "preference"):
        out.append("win_rate")
    return out


def primary_score(task: str, metrics: list[str]) -> str:
    """The per-example score used to rank disagreements between two models."""
    per_example = {pe for m in metrics if (pe := C.METRICS[m].per_example)}
    for key in (C.PRIMARY[task], "exact_match", "chrf", "rouge_l", "loss", "win"):
        if key in per_example:
            return key
    return next(iter(sorted(per_example)), "loss")


@dataclass
class Evaluator:
    examples: list[Example]
    task: str
    metrics: list[str]
    settings: EvalSettings
    labels: list[str] | None = None
    progress: Progress | None = None
    should_stop: Callable[[], bool] | None = None
    ref_logps: tuple[list[float], list[float]] | None = field(default=None)

    @property
    def generates(self) -> bool:
        return any(m in C.GENERATIVE or m == "win_rate" for m in self.metrics)

    def gen_settings(self) -> GenerationSettings:
        g = self.settings.generation
        return GenerationSettings(g.max_new_tokens, g.batch_size, g.greedy, g.temperature, g.top_p, tuple(g.stop))

    def evaluate(self, model: Any, tokenizer: Any, shots: list[list[Example]] | None = None) -> Outcome:
        """Everything the metrics need from one model; ``shots`` are few-shot examples per held-out example."""
        exs = self.examples
        n = len(exs)
        shots = shots or [[] for _ in exs]
        special = not exs[0].conversational  # chat templates write their own special tokens
        prompts = [render_prompt(tokenizer, ex, s) for ex, s in zip(exs, shots, strict=True)]
        scores: list[dict[str, float]] = [{} for _ in exs]
        values: dict[str, float | None] = {}
        batch = self.settings.generation.batch_size

        outputs: list[str] | None = None
        if self.generates:
            outputs = generate(
                model, tokenizer, prompts, self.gen_settings(),
                add_special_tokens=special, progress=self.progress, should_stop=self.should_stop,
            )
            if self.should_stop and self.should_stop():
                return Outcome(outputs, scores, values, cancelled=True)

        if self.task in ("generation", "label") and {"eval_loss", "perplexity"} & set(self.metrics):
            pairs = [
                (p, render_completion(tokenizer, ex, p, ex.reference or "", s))
                for p, ex, s in zip(prompts, exs, shots, strict=True)
            ]
            lp = completion_logprobs(model, tokenizer, pairs, batch_size=batch, add_special_tokens=special)
            for sc, (s, k) in zip(scores, lp, strict=True):
                sc["loss"] = -s / k if k else 0.0
                sc["tokens"] = k  # the weight of this item in the token-weighted eval_loss (its interval)
            loss = M.loss_metrics(-sum(s for s, _ in lp), sum(k for _, k in lp))
            values.update({m: loss.get(m) for m in ("eval_loss", "perplexity") if m in self.metrics})

        logps = None
        if self.task == "preference":
            logps = self._preference(model, tokenizer, prompts, shots, special, scores, values)

        if outputs is not None and self.task == "generation":
            refs = [ex.reference or "" for ex in exs]
            text_metrics = [m for m in self.metrics if m in C.GENERATIVE]
            for sc, out, ref in zip(scores, outputs, refs, strict=True):
                sc.update(M.text_scores(out, ref, text_metrics))
            values.update(M.generation_metrics(outputs, refs, text_metrics))
        elif outputs is not None and self.task == "label":
            labels = self.labels or []
            gold = [M.match_label(ex.reference or "", labels) or (ex.reference or "").strip() for ex in exs]
            predicted = [M.match_label(out, labels) for out in outputs]
            for sc, p, g in zip(scores, predicted, gold, strict=True):
                sc["correct"] = float(p == g)
            lab = M.label_metrics(predicted, gold, labels)
            values.update({m: lab[m] for m in ("accuracy", "precision", "recall", "f1") if m in self.metrics})
        if n and "win_rate" in self.metrics:
            values.setdefault("win_rate", None)  # filled in by the judge, after every model has generated
        return Outcome(outputs, scores, values, logps)

    def _preference(self, model, tokenizer, prompts, shots, special, scores, values) -> tuple[list[float], list[float]]:
        exs = self.examples
        batch = self.settings.generation.batch_size
        chosen = [(p, render_completion(tokenizer, ex, p, ex.chosen or "", s)) for p, ex, s in zip(prompts, exs, shots, strict=True)]
        rejected = [(p, render_completion(tokenizer, ex, p, ex.rejected or "", s)) for p, ex, s in zip(prompts, exs, shots, strict=True)]
        lc = completion_logprobs(model, tokenizer, chosen, batch_size=batch, add_special_tokens=special)
        lr = completion_logprobs(model, tokenizer, rejected, batch_size=batch, add_special_tokens=special)
        c = [s for s, _ in lc]
        r = [s for s, _ in lr]
        for sc, ci, ri in zip(scores, c, r, strict=True):
            sc["logp_margin"] = ci - ri
        ref = self.ref_logps
        ref_c, ref_r = ref if ref else (None, None)
        pm = M.preference_metrics(c, r, ref_c, ref_r, beta=self.settings.beta)
        if ref:
            for sc, margin in zip(scores, M.reward_margins(c, r, ref[0], ref[1], self.settings.beta), strict=True):
                sc["reward_margin"] = margin
        if {"eval_loss", "perplexity"} & set(self.metrics):
            for sc, (s, k) in zip(scores, lc, strict=True):
                sc["loss"] = -s / k if k else 0.0
                sc["tokens"] = k  # the weight of this item in the token-weighted eval_loss (its interval)
            loss = M.loss_metrics(-sum(c), sum(k for _, k in lc))
            values.update({m: loss.get(m) for m in ("eval_loss", "perplexity") if m in self.metrics})
        for m in ("logp_accuracy", "logp_margin", "reward_accuracy", "reward_margin"):
            if m in self.metrics:
                values[m] = pm.get(m)  # reward_* stay None for the reference model itself
        return c, r
