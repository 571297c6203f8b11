"""Searches that know what fits: a trial's estimated peak memory against what the host has, before it starts.

Before each trial the search worker estimates its configuration's peak memory (engine/memory_estimate.py:
batch size, ``max_length``, rank and method all count) and compares it with the free memory of the GPU it
trains on, or on a CPU host with the recipe's ``memory_budget``. A trial that would not fit is pruned with
the reason ("needs ~21.3 GiB, 15.7 GiB free") and never launched. A trial that still runs out of memory is
recorded as ``oom`` with its real peak, and the study keeps a correction (``tailor:memory_scale``, the
factor by which the estimate fell short) that scales every later estimate in the same study, from any worker.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from tailor.engine.memory_estimate import GIB, estimate_recipe

ATTR_SCALE = "tailor:memory_scale"


@dataclass
class Room:
    """What a trial may use: bytes and where the figure comes from."""

    bytes: float
    what: str  # "free" (a GPU's free memory) or "budget" (the recipe's memory_budget)

    def describe(self) -> str:
        return f"{self.bytes / GIB:.1f} GiB {'free' if self.what == 'free' else 'budget'}"


def room(budget: float | None) -> Room | None:
    """The free memory of this process's GPU (at most ``budget`` when one is set), else the budget, else
    None (a CPU host without a budget: nothing to compare with)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info()
        return Room(min(float(free), budget), "budget") if budget is not None and budget < free else Room(float(free), "free")
    return Room(budget, "budget") if budget is not None else None


def needs(trial_recipe: Any, study: Any) -> float | None:
    """The trial's estimated peak, corrected by the study's out-of-memory record; None when unknown."""
    total = estimate_recipe(trial_recipe).total
    return None if total is None else total * scale(study)


def scale(study: Any) -> float:
    value = study.user_attrs.get(ATTR_SCALE)
    return float(value) if isinstance(value, int | float) and value > 0 else 1.0


def refusal(need: float | None, space: Room | None) -> str | None:
    """Why a trial would not fit ("needs ~21.3 GiB, 15.7 GiB free"), or None when it fits or is unknown."""
    if need is None or space is None or need <= space.bytes:
        return None
    return f"needs ~{need / GIB:.1f} GiB, {space.describe()}"


def is_oom(exc: BaseException) -> bool:
    """A CUDA (or host) out-of-memory error, however the trainer wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or type(current).__name__ == "OutOfMemoryError":
            return True
        if "out of memory" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def reset_peak() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak() -> float | None:
    """The GPU memory this process allocated at most since ``reset_peak`` (None on CPU)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return float(torch.cuda.max_memory_allocated())
    return None


def record_oom(study: Any, trial: Any, need: float | None, space: Room | None, real_peak: float | None) -> str:
    """Mark the trial ``oom`` with its real peak and raise the study's correction so that this trial's
    configuration would have been refused: it needed more than the room it had. Returns the message."""
    trial.set_user_attr("oom", True)
    trial.set_user_attr("peak_bytes", real_peak)
    shown = f"out of memory at a peak of {real_peak / GIB:.1f} GiB" if real_peak else "out of memory"
    needed = max(x for x in (space.bytes if space else None, real_peak, 0.0) if x is not None)
    if need and needed > need:
        factor = needed / need * 1.05  # it needed more than the room it had: a little more than that
        new = max(scale(study), factor * scale(study))
        study.set_user_attr(ATTR_SCALE, new)
        shown += f" (estimated ~{need / GIB:.1f} GiB): later estimates x{new:.2f}"
    return shown
