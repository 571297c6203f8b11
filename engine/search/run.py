"""``kind: search`` worker: ``run_search(recipe, ctx)`` drives an Optuna study, one trial run at a time.

Several workers (this one's siblings, or workers on other hosts) may share the study through its storage;
Optuna coordinates them. Each loop: fail trials whose worker died (on this host at once, elsewhere via
Optuna's heartbeat) so their retries are queued, check the budget (finished + running trials across all
workers against ``n_trials``; queued trials always run), then ``study.optimize(n_trials=1)``.

Events added to the search run (see docs/search.md): ``trial`` {number, state, value, params, run_id,
steps, duration, error} and ``search`` {counts, best} at the end.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from tailor.engine.errors import RunError
from tailor.engine.recipes.search import SearchRecipe
from tailor.engine.search import SearchError
from tailor.engine.search.storage import redact
from tailor.engine.search.study import (
    best_trial,
    counts,
    open_study,
    pareto_front,
    reap_dead_trials,
    requeue,
    trial_row,
)
from tailor.engine.search.trial import SearchCancelled, TrialFailed, TrialRunner, runner_for, workspace_root
from tailor.engine.worker.context import WorkerContext

MAX_FAILURES_IN_ROW = 3
SIBLING_POLL_S = 1.0


def run_search(recipe: SearchRecipe, ctx: WorkerContext) -> None:
    import optuna

    root = workspace_root(ctx)
    runs_dir = ctx.run.path.parent
    study, url = open_study(recipe, root)
    shown = redact(url)
    ctx.link(study=recipe.study_name, storage=shown)
    before = counts(study.get_trials(deepcopy=False))
    ctx.log(
        f"study {recipe.study_name} in {shown}: {before.complete} complete, {before.pruned} pruned, "
        f"{before.failed} failed, {before.waiting} queued; objective {recipe.direction} {recipe.objective}"
        + (f", then minimize {recipe.second_objective} (Pareto front)" if recipe.second_objective else "")
    )
    jobs = None
    siblings: list[str] = []
    if recipe.workers > 1 and ctx.status.links.get("role") != "worker":
        from tailor.engine.search.slurm_jobs import trial_jobs

        jobs = trial_jobs(recipe, ctx, study)  # on a Slurm host: one job per trial
        siblings = jobs.ids if jobs is not None else _spawn_siblings(recipe, ctx)
    one_trial = bool(ctx.status.links.get("one_trial"))
    objective = TrialRunner(recipe, ctx, runner_for(recipe.base_recipe.kind), shown)
    started = time.monotonic()
    in_row = 0
    reason = "stopped"
    try:
        while True:
            if ctx.cancel_requested:
                reason = "cancelled"
                break
            dead = reap_dead_trials(study, runs_dir)
            optuna.storages.fail_stale_trials(study)
            if dead:
                ctx.log(f"trials {', '.join(map(str, dead))} lost their worker: marked failed and queued again", "warning")
            c = counts(study.get_trials(deepcopy=False))
            _progress(ctx, recipe, c)
            if recipe.n_trials is not None and c.done + c.running >= recipe.n_trials and not c.waiting:
                reason = f"{c.done} of n_trials={recipe.n_trials} trials finished" + (
                    f", {c.running} still running elsewhere" if c.running else ""
                )
                break
            if recipe.timeout is not None and time.monotonic() - started >= recipe.timeout:
                reason = f"timeout of {recipe.timeout:g}s reached"
                break
            sampler = study.sampler
            if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study) and not c.waiting:
                reason = "every grid point was tried"
                break
            objective.current = None
            try:
                study.optimize(
                    objective,
                    n_trials=1,
                    catch=(TrialFailed,),
                    callbacks=[lambda s, t: _after_trial(ctx, s, t)],
                    gc_after_trial=True,
                )
            except SearchCancelled:
                if objective.current is not None:  # it runs again first when the search is started again
                    requeue(study, objective.current)
                    ctx.log(f"trial {objective.current} interrupted by the stop: queued to run again", "warning")
                reason = "cancelled"
                break
            _free_memory()
            trial = study.get_trials(deepcopy=False)[objective.current] if objective.current is not None else None
            if trial is not None and trial.state == optuna.trial.TrialState.FAIL:
                in_row += 1
                if in_row >= MAX_FAILURES_IN_ROW:
                    raise SearchError(f"{in_row} trials failed in a row, the last with: {objective.last_error}")
            else:
                in_row = 0
            if one_trial and objective.current is not None:
                reason = "one trial per Slurm job"
                break
    finally:
        if jobs is not None:
            jobs.stop()
            ctx.link(workers=list(jobs.ids))
            ctx.log(f"ran trials in {len(jobs.ids)} more Slurm job(s): {', '.join(jobs.ids)}")
        _wind_down(ctx, siblings)
    final = counts(study.get_trials(deepcopy=False))
    _progress(ctx, recipe, final)
    best = _best(study)
    summary = f"search ended ({reason}): {final.complete} complete, {final.pruned} pruned, {final.failed} failed"
    if best is not None:
        summary += f"; best trial {best.number}: {recipe.objective} {best.values[0]:.6g} with {_params(best)}"
    front = pareto_front(study)
    if front:
        summary += f"; Pareto front ({recipe.objective} vs {recipe.second_objective}): trials {', '.join(map(str, front))}"
    ctx.log(summary)
    ctx.emit("search", reason=reason, counts=final.__dict__, best=trial_row(best) if best is not None else None)


def _after_trial(ctx: WorkerContext, study: Any, frozen: Any) -> None:
    row = trial_row(frozen)
    best = _best(study)
    row.pop("intermediate", None)
    ctx.emit("trial", **row, best=best.values[0] if best is not None else None)
    if row["state"] == "complete" and row["value"] is not None:
        values = {"objective": row["value"]}
        if best is not None:
            values["best"] = best.values[0]
        ctx.metric(frozen.number, values, split="eval")
    value = f" {row['value']:.6g}" if row["value"] is not None else ""
    err = f" ({row['error'] or row['reason']})" if row["error"] or row["reason"] else ""
    ctx.log(f"trial {frozen.number} {row['state']}{value} after {row['steps'] or 0} steps{err}")


def _progress(ctx: WorkerContext, recipe: SearchRecipe, c: Any) -> None:
    ctx.progress(c.done, recipe.n_trials, force=True)


def _best(study: Any) -> Any:
    return best_trial(study)


def _params(trial: Any) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())


def _free_memory() -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


# -- sibling workers on this machine -----------------------------------------------------------------


def _control(ctx: WorkerContext, env: dict[str, str]) -> Any:
    """Run control for sibling workers: Slurm jobs (one sbatch each) when this worker is a Slurm job,
    else processes on this machine."""
    from tailor.engine.executors.local import LocalExecutor
    from tailor.engine.remote.slurm import slurm_control_for
    from tailor.engine.workspace import Workspace

    workspace = Workspace(workspace_root(ctx))
    return slurm_control_for(ctx.run, workspace, env) or LocalExecutor(workspace, env=env).control


def _spawn_siblings(recipe: SearchRecipe, ctx: WorkerContext) -> list[str]:
    """Start ``workers - 1`` more search workers on the same study (each its own run directory)."""

    env = {}
    if "OMP_NUM_THREADS" not in os.environ:
        # N processes each with one OpenMP thread per core would spin against each other: share the cores.
        threads = str(max(1, (os.cpu_count() or 1) // recipe.workers))
        env["OMP_NUM_THREADS"] = threads
        import torch

        torch.set_num_threads(int(threads))
    control = _control(ctx, env)
    ids = []
    for i in range(1, recipe.workers):
        status = control.launch(
            ctx.run.recipe_file,
            name=f"{recipe.study_name}-w{i}",
            overrides={"workers": 1},
            links={"study": recipe.study_name, "role": "worker", "parent": ctx.run.run_id},
        )
        ids.append(status.run_id)
    ctx.link(workers=ids)
    ctx.log(f"started {len(ids)} more worker(s) on this study: {', '.join(ids)}")
    return ids


def _wind_down(ctx: WorkerContext, siblings: list[str]) -> None:
    """Wait for sibling workers to end (cancelling them when this search is cancelled)."""
    if not siblings:
        return
    control = _control(ctx, {})
    cancelled = False
    while True:
        if ctx.cancel_requested and not cancelled:
            cancelled = True
            for run_id in siblings:
                with contextlib.suppress(RunError):
                    control.cancel(run_id)
        active = []
        for run_id in siblings:
            with contextlib.suppress(RunError):
                if control.status(run_id).state.active:
                    active.append(run_id)
        if not active:
            return
        time.sleep(SIBLING_POLL_S)
