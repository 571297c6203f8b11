"""The bridge from a transformers Trainer to the run directory.

``TailorCallback`` turns trainer logs into ``metric`` events, reports progress every step, announces
checkpoints, and stops cleanly (saving a checkpoint first) once a cancel is requested. It does a few
microseconds of work per step so that training speed is the same as without Tailor.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from tailor.engine.worker.context import WorkerContext

# Keys of the final trainer log (train_runtime, ...): reported once as a "summary" event, not as a metric.
SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos")


class TailorCallback(TrainerCallback):
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.cancelling = False
        self._last_end: float | None = None
        self._clean = False  # the interval since the last step end had no eval / save in it
        self._busy = 0.0  # seconds of clean step-to-step intervals since the last log
        self._steps = 0  # steps in those intervals
        self.summary: dict[str, float] | None = None  # the Trainer's end-of-training figures
        self.last_tokens = 0.0  # TRL's running num_tokens (tokens trained on so far), for the summary
        self.fingerprint: dict[str, Any] | None = None  # what the run trains with (rank 0; engine/fingerprint.py)

    # -- progress and speed ----------------------------------------------------
    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: object) -> None:
        self.ctx.progress(state.global_step, state.max_steps, force=True)
        self._last_end = time.perf_counter()
        self._clean = True

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: object) -> None:
        now = time.perf_counter()
        if self._clean and self._last_end is not None:
            self._busy += now - self._last_end
            self._steps += 1
        self._last_end = now
        self._clean = True
        self.ctx.progress(state.global_step, state.max_steps)
        if not self.cancelling and self._cancel_everywhere(args):
            self.cancelling = True
            self.ctx.log(f"cancel requested: saving a checkpoint at step {state.global_step} and stopping", "warning")
            control.should_save = True
            control.should_training_stop = True

    def _cancel_everywhere(self, args: TrainingArguments) -> bool:
        """Whether to stop now. With several ranks they must agree, or the others would hang in a collective."""
        wanted = self.ctx.cancel_requested
        if getattr(args, "world_size", 1) > 1:
            import torch
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                flag = torch.tensor([1 if wanted else 0], device=args.device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                wanted = bool(flag.item())
        return wanted

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: object) -> None:
        self._clean = False  # evaluation time is not training time

    # `args` stays Any: transformers annotates output_dir `str | None`, though __post_init__ always sets it.
    def on_save(self, args: Any, state: TrainerState, control: TrainerControl, **kw: object) -> None:
        self._clean = False
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if path.is_dir():
            if self.fingerprint is not None:
                self.record_fingerprint(path, state)
            self.ctx.checkpoint(state.global_step, path)

    def record_fingerprint(self, folder: Path, state: TrainerState) -> None:
        """Write the run's fingerprint with the step and epoch reached, for ``tailor resume`` to compare."""
        from tailor.engine.fingerprint import write_fingerprint

        write_fingerprint(folder, {**(self.fingerprint or {}), "step": state.global_step, "epoch": state.epoch,
                                   "max_steps": state.max_steps})

    # -- metrics ---------------------------------------------------------------
    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
        logs: dict[str, Any] | None = None, **kw: object,
    ) -> None:
        if not logs:
            return
        step = state.global_step
        logs = {k: v for k, v in logs.items() if _finite(v)}
        epoch = logs.pop("epoch", None)
        if "train_runtime" in logs:  # emitted by train_and_save, with the CPU time, once train() returns
            self.summary = {k: float(logs[k]) for k in SUMMARY_KEYS if k in logs}
            return
        evals = {k: v for k, v in logs.items() if k.startswith("eval_")}
        if evals:
            self.ctx.metric(step, evals, split="eval", epoch=epoch)
            return
        if self._steps and self._busy > 0:
            per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps * max(args.world_size, 1)
            logs["samples_per_second"] = round(self._steps * per_step / self._busy, 3)
        self._busy, self._steps = 0.0, 0
        self.last_tokens = float(logs.get("num_tokens", self.last_tokens))
        self.ctx.metric(step, logs, split="train", epoch=epoch)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
