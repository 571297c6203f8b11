"""How sure a difference is, and which items changed: paired bootstrap intervals, McNemar's test and
per-item flips between two models. Light: stdlib and numpy (the TUI imports it through the engine API).

Every model of an evaluation answered the same items, so a difference against the base is *paired*: the
bootstrap resamples items (the same resampled items for both models) and takes the 2.5th and 97.5th
percentiles of the resampled difference; for pass/fail metrics McNemar's exact test looks only at the
items that changed (fail→pass ``b``, pass→fail ``c``: two-sided binomial test of b against b + c at 1/2).
A difference whose interval contains zero is *not significant*: the table marks it ``n.s.``.

Which per-item score each metric is the mean of comes from ``eval_metrics.METRICS`` (``per_example``);
``eval_loss`` is token-weighted (per-item ``loss`` and ``tokens``) and ``perplexity`` its exponential.
Macro precision/recall/F1 of label tasks are not means of per-item scores and get no interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tailor.engine.recipes.eval_metrics import METRICS

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95
#: Metrics whose per-item score is pass (1) or fail (0): McNemar's test and flips apply.
PASS_FAIL = {"exact_match", "accuracy", "reward_accuracy", "logp_accuracy"}
#: Metrics whose value is the share of items with a positive per-item margin.
POSITIVE_SHARE = {"reward_accuracy", "logp_accuracy"}
CANARY_PREFIX = "canary/"


@dataclass(frozen=True)
class Difference:
    """``delta`` = model − base with its 95% paired-bootstrap interval ``[low, high]`` over ``n`` items;
    ``p`` is McNemar's exact p-value for pass/fail metrics (None otherwise)."""

    delta: float
    low: float
    high: float
    n: int
    p: float | None = None

    @property
    def significant(self) -> bool:
        """False when the interval contains zero (the difference may be noise)."""
        return not (self.low <= 0.0 <= self.high)

    def to_json(self) -> dict[str, Any]:
        return {"delta": self.delta, "low": self.low, "high": self.high, "n": self.n, "p": self.p,
                "significant": self.significant}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Difference:
        return cls(float(obj["delta"]), float(obj["low"]), float(obj["high"]), int(obj["n"]),
                   None if obj.get("p") is None else float(obj["p"]))


def mcnemar(b: int, c: int) -> float:
    """McNemar's exact two-sided p-value for ``b`` fail→pass and ``c`` pass→fail items."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    transform: str | None = None,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(delta, low, high): the statistic of ``b`` minus that of ``a`` over the same items, with its 95%
    percentile interval from ``samples`` resamples of the items (the same resample for both sides).

    The statistic is the mean, or the ``weights``-weighted mean (token-weighted loss); ``transform="exp"``
    takes the exponential of each side first (perplexity from mean loss).
    """
    import numpy as np

    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("paired_bootstrap needs two score lists of the same, non-zero length")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)

    def stat(values: Any, wsum: Any) -> Any:
        out = values / wsum
        return np.exp(out) if transform == "exp" else out

    total = w.sum()
    delta = float(stat((y * w).sum(), total) - stat((x * w).sum(), total))
    rng = np.random.default_rng(seed)
    n = x.size
    xw, yw = x * w, y * w
    parts = []
    chunk = max(1, 2_000_000 // n)  # resamples per block: memory stays near 16 MB for any item count
    for start in range(0, samples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, samples - start), n))
        wsum = w[idx].sum(axis=1)
        wsum[wsum == 0] = 1.0
        parts.append(stat(yw[idx].sum(axis=1), wsum) - stat(xw[idx].sum(axis=1), wsum))
    diffs = np.concatenate(parts)
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(diffs, [alpha, 1.0 - alpha])
    return delta, float(low), float(high)


def _per_item(metric: str, scores: dict[str, Any]) -> tuple[float, float] | None:
    """(value, weight) of one item for ``metric`` from its per-item scores; None when missing."""
    if metric in ("eval_loss", "perplexity"):
        loss, tokens = scores.get("loss"), scores.get("tokens")
        if isinstance(loss, int | float) and isinstance(tokens, int | float) and tokens > 0:
            return float(loss), float(tokens)
        return None
    key = metric[len(CANARY_PREFIX):] if metric.startswith(CANARY_PREFIX) else None
    if key is not None:
        v = scores.get("pass")
    else:
        info = METRICS.get(metric)
        if info is None or info.per_example is None or metric in ("precision", "recall", "f1"):
            return None
        v = scores.get(info.per_example)
        if isinstance(v, int | float) and metric in POSITIVE_SHARE:
            v = 1.0 if v > 0 else 0.0
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v), 1.0


def canary_metric(name: str) -> str:
    """The metric key of a canary's column in results.json (``canary/mmlu-dev``)."""
    return f"{CANARY_PREFIX}{name}"


def is_canary(metric: str) -> bool:
    return metric.startswith(CANARY_PREFIX)


def is_pass_fail(metric: str) -> bool:
    return metric in PASS_FAIL or metric.startswith(CANARY_PREFIX)


def difference(metric: str, base: list[dict[str, Any]], model: list[dict[str, Any]], *, seed: int = 0) -> Difference | None:
    """The model's difference from the base on ``metric`` from per-item scores (items where both have a
    score); None when the metric has no per-item scores."""
    xs: list[float] = []
    ys: list[float] = []
    ws: list[float] = []
    for sa, sb in zip(base, model, strict=True):
        a, b = _per_item(metric, sa), _per_item(metric, sb)
        if a is None or b is None:
            continue
        xs.append(a[0])
        ys.append(b[0])
        ws.append(a[1] if metric not in ("eval_loss", "perplexity") else (a[1] + b[1]) / 2)
    if not xs:
        return None
    weighted = metric in ("eval_loss", "perplexity")
    delta, low, high = paired_bootstrap(xs, ys, weights=ws if weighted else None,
                                        transform="exp" if metric == "perplexity" else None, seed=seed)
    p = None
    if is_pass_fail(metric):
        up = sum(1 for x, y in zip(xs, ys, strict=True) if x < 0.5 <= y)
        down = sum(1 for x, y in zip(xs, ys, strict=True) if y < 0.5 <= x)
        p = mcnemar(up, down)
    return Difference(delta, low, high, len(xs), p)


def differences(
    metrics: Iterable[str],
    baseline: str,
    models: Iterable[str],
    items: list[dict[str, dict[str, Any]]],
    *,
    seed: int = 0,
) -> dict[str, dict[str, Difference]]:
    """{model id: {metric: Difference}} against ``baseline`` for every model and metric with per-item
    scores; ``items`` is one {model id: per-item scores} per item (the same items for every model)."""
    out: dict[str, dict[str, Difference]] = {}
    base = [it.get(baseline, {}) for it in items]
    for mid in models:
        if mid == baseline:
            continue
        mine = [it.get(mid, {}) for it in items]
        row = {m: d for m in metrics if (d := difference(m, base, mine, seed=seed)) is not None}
        if row:
            out[mid] = row
    return out


# -- flips ----------------------------------------------------------------------------------------


@dataclass
class Flips:
    """Items of one task that changed between model ``a`` and model ``b`` on a pass/fail metric."""

    task: str
    metric: str
    a: str
    b: str
    fail_to_pass: list[int] = field(default_factory=list)  # item indices (predictions / canary records)
    pass_to_fail: list[int] = field(default_factory=list)
    both_pass: int = 0
    both_fail: int = 0

    @property
    def p(self) -> float:
        return mcnemar(len(self.fail_to_pass), len(self.pass_to_fail))

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "metric": self.metric, "a": self.a, "b": self.b,
                "fail_to_pass": len(self.fail_to_pass), "pass_to_fail": len(self.pass_to_fail),
                "both_pass": self.both_pass, "both_fail": self.both_fail, "mcnemar_p": self.p,
                "fail_to_pass_items": self.fail_to_pass, "pass_to_fail_items": self.pass_to_fail}


def count_flips(task: str, metric: str, a: str, b: str, records: Iterable[dict[str, Any]]) -> Flips:
    """Walk per-item records (``index`` and ``scores`` {model: {...}}) and sort each item into a cell of
    the 2x2 table of pass/fail under ``a`` and under ``b``; items either model lacks are left out."""
    out = Flips(task, metric, a, b)
    for rec in records:
        scores = rec.get("scores") or {}
        sa, sb = _per_item(metric, scores.get(a) or {}), _per_item(metric, scores.get(b) or {})
        if sa is None or sb is None:
            continue
        pa, pb = sa[0] >= 0.5, sb[0] >= 0.5
        index = int(rec.get("index", 0))
        if pa and pb:
            out.both_pass += 1
        elif not pa and not pb:
            out.both_fail += 1
        elif pb:
            out.fail_to_pass.append(index)
        else:
            out.pass_to_fail.append(index)
    return out
