"""Per-item flips between two models of an evaluation: which items went fail→pass and pass→fail, per
task (the own task on its pass/fail metric, and each canary). Light: stdlib only; shared by
``tailor eval RUN --flips A B`` and the Evals screen's flips list (key ``f``)."""

from __future__ import annotations

from pathlib import Path

from tailor.engine.errors import DataError
from tailor.engine.eval.results import CANARIES, EvalResults, iter_predictions
from tailor.engine.eval.stats import PASS_FAIL, Flips, canary_metric, count_flips, is_canary

OWN = "task"  # the own task's name in a flips list (canaries go by their own names)


def own_pass_fail(results: EvalResults) -> str | None:
    """The own task's pass/fail metric (exact match first), or None when it has none (e.g. loss only)."""
    for metric in ("exact_match", "accuracy", "logp_accuracy", "reward_accuracy"):
        if metric in results.metrics and metric in PASS_FAIL:
            return metric
    return None


def find_flips(results: EvalResults, a: str, b: str) -> list[Flips]:
    """Flips from model ``a`` to model ``b`` (ids or labels of rows), own task first, then each canary."""
    ids = {m.id for m in results.models}
    by_label = {m.label: m.id for m in results.models}
    a, b = (x if x in ids else by_label.get(x, x) for x in (a, b))
    for x in (a, b):
        if x not in ids:
            raise DataError(f"no model {x!r} in this evaluation; models: {', '.join(m.id for m in results.models)}")
    folder = results.path or Path(".")
    out: list[Flips] = []
    metric = own_pass_fail(results)
    if metric is not None:
        out.append(count_flips(OWN, metric, a, b, iter_predictions(folder)))
    canaries = [m for m in results.metrics if is_canary(m)]
    if canaries:
        records = list(iter_predictions(folder, CANARIES))
        for key in canaries:
            name = key.split("/", 1)[1]
            mine = [r for r in records if canary_metric(str(r.get("task"))) == key]
            out.append(count_flips(name, key, a, b, mine))
    if not out:
        raise DataError("no pass/fail metric in this evaluation (flips need exact_match, accuracy or a canary)")
    return out
