"""One trial = one run directory, trained in the search worker by the same code as a normal run.

The trial's ``TrialContext`` is a ``WorkerContext`` for the trial's own run directory (status, events,
heartbeat, curves, adapter: browsable like any run), which also feeds Optuna: every eval metric the
trainer reports goes to ``trial.report(objective, step)``, and when the pruner says so the context
raises ``optuna.TrialPruned`` from inside the trainer's callback, which ends training at once. So the
trainers need no search-specific hook: anything that reports eval metrics through ``ctx.metric`` can be
searched (SFT, DPO and its variants).
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from tailor import engine
from tailor.engine.errors import one_line
from tailor.engine.recipes.load import dump_recipe
from tailor.engine.recipes.search import SearchRecipe
from tailor.engine.runs.liveness import process_start, this_host
from tailor.engine.runs.rundir import RunDir, new_run_id
from tailor.engine.runs.status import RunState, Status
from tailor.engine.search import SearchError, fit
from tailor.engine.search.space import suggest, trial_recipe_data, validate_trial_recipe
from tailor.engine.search.study import ATTR_WORKER
from tailor.engine.worker.context import WorkerContext


class SearchCancelled(Exception):  # a control-flow signal, not an error
    """The search was asked to stop while a trial was training."""


class TrialFailed(Exception):
    """A trial's training failed; the study records it as failed and the search goes on."""


class TrialContext(WorkerContext):
    """A WorkerContext for a trial's run directory that reports eval metrics to an Optuna trial."""

    def __init__(self, run: RunDir, *, parent: WorkerContext, trial: Any, objective: str, report: bool = True) -> None:
        super().__init__(run, resume=False)
        self.parent = parent
        self.trial = trial
        self.objective = objective
        self.report = report  # False in a multi-objective study: Optuna takes no intermediate values there
        self.last_value: float | None = None
        self.last_report_step: int | None = None
        self.pruned_at: int | None = None

    def start(self) -> None:
        """Like WorkerContext.start, minus what belongs to the search worker process: signal handlers
        (set once, by the worker) and the process group (a cancel of this trial run must not signal the
        whole search; it is seen through ``cancel.request``)."""
        pid = os.getpid()
        self.status.state = RunState.RUNNING
        self.status.pid = pid
        self.status.pgid = None
        self.status.pid_start = process_start(pid)
        self.status.host = this_host()
        self.status.started_at = time.time()
        self.run.write_status(self.status)
        self.run.beat(pid, 0)
        self.events.emit("status", state="running", pid=pid, host=self.status.host, attempt=0)
        import threading

        threading.Thread(target=self._heartbeat, name=f"heartbeat-{self.run.run_id}", daemon=True).start()

    @property
    def cancel_requested(self) -> bool:
        return self.pruned_at is not None or self.parent.cancel_requested or super().cancel_requested

    def metric(self, step: int, values: dict[str, float], *, split: str = "train", epoch: float | None = None) -> None:
        super().metric(step, values, split=split, epoch=epoch)
        if split != "eval":
            return
        value = pick(values, self.objective)
        if value is None:
            return
        self.last_value = value
        if not self.report or self.last_report_step == step:
            return  # a final evaluation at the step of the last scheduled one
        self.last_report_step = step
        self.trial.report(value, step)
        if self.trial.should_prune():
            import optuna

            self.pruned_at = step
            raise optuna.TrialPruned(f"pruned at step {step} ({self.objective} {value:.4g})")


def pick(values: dict[str, Any], name: str) -> float | None:
    """The objective among reported metrics, with or without the ``eval_`` prefix."""
    for key in (name, name.removeprefix("eval_"), f"eval_{name}"):
        v = values.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


class TrialRunner:
    """The objective function given to ``study.optimize``: one call trains one trial run."""

    def __init__(self, recipe: SearchRecipe, ctx: WorkerContext, runner: Any, storage_shown: str) -> None:
        self.recipe = recipe
        self.ctx = ctx
        self.runner = runner
        self.runs_dir = ctx.run.path.parent
        self.storage_shown = storage_shown
        self.last_error: str | None = None
        self.current: int | None = None  # the number of the trial being trained

    def __call__(self, trial: Any) -> float | tuple[float, float]:
        import optuna

        recipe = self.recipe
        self.current = trial.number
        values = suggest(trial, recipe)
        searched = {k: v for k, v in values.items() if k in recipe.searched_names}
        derived = {k: v for k, v in values.items() if k not in searched}
        name = f"{(recipe.study_name or 'search')[:52]}-t{trial.number}"
        data = trial_recipe_data(recipe, values, name=name)
        run_id = new_run_id(name, recipe.base_recipe.kind)
        pid = os.getpid()
        trial.storage.set_trial_system_attr(
            trial._trial_id,
            ATTR_WORKER,
            {"trial": trial.number, "host": this_host(), "pid": pid, "pid_start": process_start(pid)},
        )
        trial.set_user_attr("host", this_host())
        trial.set_user_attr("search_run", self.ctx.run.run_id)  # which worker: several may share one host
        trial.set_user_attr("derived", derived)
        trial.set_user_attr("error", None)
        trial.set_user_attr("run_id", None)  # a retried trial copies its predecessor's attributes
        try:
            model = validate_trial_recipe(recipe, data)
        except SearchError as exc:
            self._fail(trial, str(exc))
        need, space = fit.needs(model, trial.study), fit.room(recipe.memory_budget)
        trial.set_user_attr("estimate_bytes", need)
        too_big = fit.refusal(need, space)
        if too_big is not None:  # pruned unlaunched: no run directory, no step trained
            trial.set_user_attr("reason", too_big)
            trial.set_user_attr("steps", 0)
            raise optuna.TrialPruned(too_big)
        links = {
            "study": recipe.study_name,
            "trial": trial.number,
            "storage": self.storage_shown,
            "search_run": self.ctx.run.run_id,
            "params": values,
        }
        status = Status(
            run_id=run_id,
            kind=model.kind,
            name=name,
            host=this_host(),
            links=links,
            tailor_version=engine.__version__,
        )
        run = RunDir.create(self.runs_dir, run_id, dump_recipe(model), status)
        trial.set_user_attr("run_id", run_id)  # once the run directory exists, so readers can open it
        tctx = TrialContext(run, parent=self.ctx, trial=trial, objective=recipe.objective,
                            report=recipe.second_objective is None)
        started = time.monotonic()
        tctx.start()
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())
        self.ctx.log(f"trial {trial.number} started: {shown} (run {run_id})")
        self.ctx.emit("trial", number=trial.number, state="running", params=values, run_id=run_id)
        fit.reset_peak()
        try:
            self.runner(model, tctx)
        except optuna.TrialPruned as exc:
            self._finish_pruned(trial, tctx, str(exc))
            raise
        except BaseException as exc:  # a failed trial must never leave a running run behind
            if isinstance(exc, KeyboardInterrupt) or self.ctx.cancel_requested:
                self._finish(trial, tctx, RunState.CANCELLED, None)
                raise SearchCancelled() from None
            traceback.print_exc(file=sys.stderr)
            message = one_line(exc)
            if fit.is_oom(exc):
                message = fit.record_oom(trial.study, trial, need, space, fit.peak())
            self._finish(trial, tctx, RunState.FAILED, message)
            self._fail(trial, message)
        if tctx.pruned_at is not None:  # a trainer that stopped on cancel_requested instead of raising
            self._finish_pruned(trial, tctx, f"pruned at step {tctx.pruned_at}")
            raise optuna.TrialPruned(f"pruned at step {tctx.pruned_at}")
        if self.ctx.cancel_requested:
            self._finish(trial, tctx, RunState.CANCELLED, None)
            raise SearchCancelled()
        if tctx.cancel_requested:  # this trial's run was cancelled on its own (`tailor cancel TRIAL_RUN`)
            self._finish(trial, tctx, RunState.CANCELLED, None)
            self._fail(trial, "the trial run was cancelled")
        value = tctx.last_value
        if value is None:
            value = pick(tctx.status.latest, recipe.objective)
        if value is None or not math.isfinite(value):
            message = (
                f"the objective {recipe.objective} was never reported (the trainer's eval metrics: "
                f"{sorted(k for k in tctx.status.latest if k.startswith('eval_')) or 'none'})"
                if value is None
                else f"the objective {recipe.objective} is {value}"
            )
            self._finish(trial, tctx, RunState.FAILED, message)
            self._fail(trial, message)
        self._finish(trial, tctx, RunState.SUCCEEDED, None)
        if recipe.second_objective == "wall_time":
            return float(value), round(time.monotonic() - started, 3)
        if recipe.second_objective == "peak_memory":  # the real peak on a GPU, the estimate on a CPU host
            return float(value), round((fit.peak() or need or 0.0) / fit.GIB, 4)
        return float(value)

    # -- endings -------------------------------------------------------------
    def _finish(self, trial: Any, tctx: TrialContext, state: RunState, error: str | None) -> None:
        trial.set_user_attr("steps", tctx.status.step)
        if not tctx.events.closed:
            tctx.finish(state, error)

    def _finish_pruned(self, trial: Any, tctx: TrialContext, reason: str) -> None:
        tctx.log(f"{reason}: stopped by the {self.recipe.pruner.type} pruner", "warning")
        tctx.status.trial_state = "pruned"  # type: ignore[attr-defined]  # Status keeps extra fields
        self._finish(trial, tctx, RunState.CANCELLED, None)

    def _fail(self, trial: Any, message: str) -> NoReturn:
        trial.set_user_attr("error", message)
        self.last_error = message
        raise TrialFailed(message)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def runner_for(kind: str) -> Any:
    """The same training function a normal run of this kind uses (its engine.kinds runner)."""
    from tailor.engine import kinds

    return kinds.get(kind).runner_function()


def workspace_root(ctx: WorkerContext) -> Path:
    return ctx.run.path.parent.parent
