"""A fast kind for fault injection: ``steps`` steps of ``step_s`` seconds, metrics, evals, checkpoints.

It drives the real worker (engine.worker) exactly as a trainer does: a train metric per step, an eval
metric every ``eval_every`` steps, a checkpoint (with trainer_state.json) every ``save_every``; on
resume it restarts after the newest checkpoint and recomputes the steps after it, as the HF Trainer
does, so the worker's "never log a step twice" rule is exercised for real.
"""

from __future__ import annotations

import json
import time
from typing import Literal

from pydantic import Field

from tailor.engine import kinds
from tailor.engine.recipes.common import Recipe


class TickRecipe(Recipe):
    kind: Literal["tick"]
    name: str | None = None
    steps: int = Field(20, gt=0)
    step_s: float = Field(0.05, ge=0)
    eval_every: int = Field(5, gt=0)
    save_every: int = Field(5, gt=0)
    write_kb: int = Field(0, ge=0)  # bytes written into each checkpoint (to fill a small disk)


def run_tick(recipe: TickRecipe, ctx) -> None:
    start = 0
    last = ctx.run.last_checkpoint() if ctx.resume else None
    if last is not None:
        start = int(last.name.split("-")[1])
    for step in range(start + 1, recipe.steps + 1):
        if ctx.cancel_requested:
            return
        time.sleep(recipe.step_s)
        ctx.metric(step, {"loss": 1.0 / step})
        if step % recipe.eval_every == 0:
            ctx.metric(step, {"eval_loss": 2.0 / step}, split="eval")
        if step % recipe.save_every == 0:
            folder = ctx.path / "checkpoints" / f"checkpoint-{step}"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            (folder / "weights.bin").write_bytes(b"\0" * (recipe.write_kb * 1024))
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
            ctx.checkpoint(step, folder)
        ctx.progress(step, recipe.steps)


kinds.register(kinds.Kind("tick", TickRecipe, run_tick, summary="fault-injection ticker"), replace=True)
