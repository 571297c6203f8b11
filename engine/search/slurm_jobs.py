"""Searches on a Slurm host: one Slurm job per trial, ``workers`` of them at a time.

The search worker is itself a Slurm job (engine/remote/slurm.py). With ``workers: N`` it keeps N - 1 more
jobs going: each is a search worker that trains exactly one trial and ends (``links.one_trial``), so every
trial has its own allocation, time limit and place in the queue; a thread here submits a new one whenever
one has ended, while the study's budget is not used up. The search worker trains trials too, one after
another, inside its own allocation.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import RunError, TailorError

if TYPE_CHECKING:
    from tailor.engine.recipes.search import SearchRecipe
    from tailor.engine.worker.context import WorkerContext

POLL_S = 2.0


class TrialJobs:
    def __init__(self, recipe: SearchRecipe, ctx: WorkerContext, study: Any, control: Any) -> None:
        self.recipe = recipe
        self.ctx = ctx
        self.study = study
        self.control = control
        self.ids: list[str] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="search.slurm-jobs", daemon=True)

    def start(self) -> TrialJobs:
        self._top_up()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self._top_up()
            except TailorError as exc:  # sbatch refused (quota, QoS): the search goes on with fewer jobs
                self.error = str(exc)

    def _top_up(self) -> None:
        from tailor.engine.search.study import counts

        active = 0
        for run_id in list(self.ids):
            with contextlib.suppress(RunError):
                active += self.control.status(run_id).state.active
        c = counts(self.study.get_trials(deepcopy=False))
        n = self.recipe.n_trials
        if n is not None and c.done + c.running + active >= n and not c.waiting:
            return
        for _ in range(self.recipe.workers - 1 - active):
            if self._stop.is_set():
                return
            status = self.control.launch(
                self.ctx.run.recipe_file,
                name=f"{self.recipe.study_name}-j{len(self.ids) + 1}",
                overrides={"workers": 1},
                links={"study": self.recipe.study_name, "role": "worker", "parent": self.ctx.run.run_id,
                       "one_trial": True},
            )
            self.ids.append(status.run_id)


def trial_jobs(recipe: SearchRecipe, ctx: WorkerContext, study: Any) -> TrialJobs | None:
    """The job pool of a search worker that is a Slurm job; None elsewhere (siblings are processes)."""
    from tailor.engine.remote.slurm import slurm_control_for
    from tailor.engine.search.trial import workspace_root
    from tailor.engine.workspace import Workspace

    control = slurm_control_for(ctx.run, Workspace(workspace_root(ctx)))
    return TrialJobs(recipe, ctx, study, control).start() if control is not None else None
