"""The evaluation metrics a recipe may name: title, direction, scale and per-example score of each, and
the metrics of each task. The scores themselves are computed in engine/eval/metrics.py."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    title: str
    higher_is_better: bool
    scale: str  # "fraction" | "0-100" | "nats" | "ratio"
    per_example: str | None  # the per-example score key, when there is one


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("eval_loss", "loss", False, "nats", "loss"),
        MetricInfo("perplexity", "ppl", False, "ratio", None),
        MetricInfo("exact_match", "EM", True, "fraction", "exact_match"),
        MetricInfo("token_f1", "tok F1", True, "fraction", "token_f1"),
        MetricInfo("rouge_l", "ROUGE-L", True, "fraction", "rouge_l"),
        MetricInfo("bleu", "BLEU", True, "0-100", "bleu"),
        MetricInfo("chrf", "chrF", True, "0-100", "chrf"),
        MetricInfo("accuracy", "acc", True, "fraction", "correct"),
        MetricInfo("precision", "prec", True, "fraction", None),
        MetricInfo("recall", "recall", True, "fraction", None),
        MetricInfo("f1", "F1", True, "fraction", None),
        MetricInfo("reward_accuracy", "rew acc", True, "fraction", "reward_margin"),
        MetricInfo("reward_margin", "rew margin", True, "nats", "reward_margin"),
        MetricInfo("logp_accuracy", "logp acc", True, "fraction", "logp_margin"),
        MetricInfo("logp_margin", "logp margin", True, "nats", "logp_margin"),
        MetricInfo("win_rate", "win rate", True, "fraction", "win"),
    )
}

TASK_METRICS: dict[str, list[str]] = {
    "generation": ["eval_loss", "perplexity", "exact_match", "token_f1", "rouge_l", "bleu", "chrf"],
    "label": ["eval_loss", "accuracy", "precision", "recall", "f1"],
    "preference": ["reward_accuracy", "reward_margin", "logp_accuracy", "logp_margin"],
}
# Metrics that need the model to generate (the others only score the reference).
GENERATIVE = {"exact_match", "token_f1", "rouge_l", "bleu", "chrf", "accuracy", "precision", "recall", "f1"}
# The per-example score used to find the examples two models disagree on.
PRIMARY = {"generation": "token_f1", "label": "correct", "preference": "logp_margin"}
