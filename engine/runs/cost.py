"""What a run cost, for compare tables (the Runs compare view and ``tailor compare``): wall time, tokens
trained on, tokens per second and, on GPU hosts, GPU-hours — so "better" can be weighed against "dearer".
Light: stdlib only; read from status.json and the run's events.

* wall time: ``started_at`` to ``ended_at`` (to now while running), whatever the run did in between
  (loading, evaluation, saving included): what the user waited and paid for.
* tokens: the ``train_tokens`` of the run's ``summary`` event (the Trainer's tokens seen, or TRL's
  ``num_tokens``), else the last ``num_tokens`` a train metric reported; None when the trainer counts none.
* tokens/s: tokens over the Trainer's ``train_runtime`` (training only), else over the wall time.
* GPU-hours: wall hours times the GPUs the run held (the summary's ``gpus``; 0 on CPU, shown as "-").
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailor.engine.runs.status import Status


@dataclass(frozen=True)
class Cost:
    wall_s: float | None
    tokens: float | None
    tokens_per_s: float | None
    gpus: int | None
    gpu_hours: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_cost(status: Status, events: Iterable[dict[str, Any]], now: float | None = None) -> Cost:
    """The cost figures of one run from its status and its events (any order, duplicates harmless)."""
    summary: dict[str, Any] = {}
    tokens: float | None = None
    for e in events:
        if e.get("type") == "summary" and isinstance(e.get("values"), dict):
            summary = e["values"]
        elif e.get("type") == "metric" and e.get("split", "train") == "train":
            v = (e.get("values") or {}).get("num_tokens")
            if isinstance(v, int | float):
                tokens = float(v)
    wall: float | None = None
    if status.started_at is not None:
        end = status.ended_at if status.state.terminal and status.ended_at else (now or time.time())
        wall = max(0.0, end - status.started_at)
    if isinstance(summary.get("train_tokens"), int | float):
        tokens = float(summary["train_tokens"])
    runtime = summary.get("train_runtime")
    span = float(runtime) if isinstance(runtime, int | float) and runtime > 0 else wall
    rate = tokens / span if tokens and span else None
    gpus = summary.get("gpus")
    gpus = int(gpus) if isinstance(gpus, int | float) else None
    gpu_hours = wall * gpus / 3600.0 if wall is not None and gpus else None
    return Cost(wall, tokens, rate, gpus, gpu_hours)


def cost_cells(cost: Cost) -> dict[str, str]:
    """The compare tables' cost cells: ``wall``, ``tokens``, ``tok/s``, ``GPU-h`` ("-" where unknown)."""
    from tailor.engine.runs.format import duration

    def count(v: float | None) -> str:
        if v is None:
            return "-"
        for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if v >= div:
                return f"{v / div:.1f}{unit}"
        return f"{v:.0f}"

    return {"wall": duration(cost.wall_s), "tokens": count(cost.tokens),
            "tok/s": count(cost.tokens_per_s), "GPU-h": "-" if cost.gpu_hours is None else f"{cost.gpu_hours:.2f}"}


def cost_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events ``run_cost`` needs (the summary and train metrics that count tokens), for screens that
    keep only those while following a run."""
    return [e for e in events if e.get("type") == "summary"
            or (e.get("type") == "metric" and "num_tokens" in (e.get("values") or {}))]
