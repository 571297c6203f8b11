"""Studies: create or continue one for a search recipe, read one back, and fail trials whose worker died.

A study carries what Tailor needs to act on it later from any machine that reaches the storage, as
study user attributes: ``tailor:base`` (the base recipe, JSON), ``tailor:space``, ``tailor:objective``.
Trials carry ``run_id``, ``steps``, ``host`` and ``derived`` (fixed and tied parameters) user attributes,
and a ``tailor:worker`` system attribute (so a worker on the same host can tell at once that a trial's
process is gone).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tailor.engine.recipes.search import SearchRecipe
from tailor.engine.runs.liveness import pid_alive, this_host
from tailor.engine.search import SearchError
from tailor.engine.search.storage import open_storage, redact, require_optuna, resolve_url

ATTR_BASE, ATTR_SPACE, ATTR_OBJECTIVE = "tailor:base", "tailor:space", "tailor:objective"
ATTR_SECOND = "tailor:second_objective"  # a multi-objective study's second value: peak_memory or wall_time
ATTR_WORKER = "tailor:worker"  # trial system attribute: {trial, host, pid, pid_start} of the process running it


def storage_url_for(recipe: SearchRecipe, workspace_root: Path) -> str:
    return resolve_url(recipe.storage.url, workspace_root)


def make_sampler(recipe: SearchRecipe) -> Any:
    """The recipe's sampler, reseeded per trial (engine/search/sampler.py) so parallel workers differ."""
    import optuna

    from tailor.engine.search.sampler import per_trial_seeded

    s = recipe.sampler
    seed = s.seed if s.seed is not None else recipe.seed
    if s.type == "random":
        return per_trial_seeded(optuna.samplers.RandomSampler, seed=seed)
    if s.type == "grid":
        from tailor.engine.search.space import grid_space

        return per_trial_seeded(optuna.samplers.GridSampler, grid_space(recipe), seed=seed)
    liar = s.constant_liar if s.constant_liar is not None else recipe.workers > 1
    kwargs: dict[str, Any] = {"multivariate": s.multivariate, "constant_liar": liar}
    if s.n_startup_trials is not None:
        kwargs["n_startup_trials"] = s.n_startup_trials
    return per_trial_seeded(optuna.samplers.TPESampler, seed=seed, **kwargs)


def directions(recipe: SearchRecipe) -> list[Literal["minimize", "maximize"]]:
    """The study's directions: the objective's, then minimize for a second objective (memory, time)."""
    first: Literal["minimize", "maximize"] = recipe.direction or "minimize"
    return [first, "minimize"] if recipe.second_objective else [first]


def make_pruner(recipe: SearchRecipe) -> Any:
    import optuna

    p = recipe.pruner
    if p.type == "none" or recipe.second_objective:  # Optuna prunes single-objective studies only
        return optuna.pruners.NopPruner()
    from tailor.engine.search.space import trial_eval_steps

    min_resource = p.min_resource or trial_eval_steps(recipe)  # the first cut at the first evaluation
    if p.type == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource, max_resource=p.max_resource or "auto", reduction_factor=p.reduction_factor
        )
    if p.type == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=p.reduction_factor)
    return optuna.pruners.MedianPruner(
        n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps, interval_steps=p.interval_steps
    )


def open_study(recipe: SearchRecipe, workspace_root: Path) -> tuple[Any, str]:
    """Create the recipe's study or continue it (same name, same storage); returns (study, storage url)."""
    import optuna

    url = storage_url_for(recipe, workspace_root)
    st = recipe.storage
    storage = open_storage(url, heartbeat_interval=st.heartbeat_interval, grace_period=st.grace_period, max_retry=st.max_retry)
    name = recipe.study_name or "search"
    wanted = directions(recipe)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(recipe),
        pruner=make_pruner(recipe),
        directions=wanted,
        load_if_exists=True,
    )
    have = [d.name.lower() for d in study.directions]
    if have != wanted:
        was = " and ".join(have)
        raise SearchError(
            f"study {name} in {redact(url)} was created to {was} {_objectives(study.user_attrs)}; this recipe wants "
            f"to {' and '.join(wanted)} {_objectives({ATTR_OBJECTIVE: recipe.objective, ATTR_SECOND: recipe.second_objective})}: "
            "set another study_name"
        )
    old = study.user_attrs.get(ATTR_OBJECTIVE)
    if old is not None and (old, study.user_attrs.get(ATTR_SECOND)) != (recipe.objective, recipe.second_objective):
        raise SearchError(
            f"study {name} in {redact(url)} optimises {_objectives(study.user_attrs)}, this recipe "
            f"{_objectives({ATTR_OBJECTIVE: recipe.objective, ATTR_SECOND: recipe.second_objective})}: set another study_name"
        )
    study.set_user_attr(ATTR_OBJECTIVE, recipe.objective)
    study.set_user_attr(ATTR_SECOND, recipe.second_objective)
    study.set_user_attr(ATTR_SPACE, {k: v.model_dump(mode="json") for k, v in recipe.space.items()})
    base = recipe.base_recipe.model_dump(mode="json")
    if ATTR_BASE not in study.user_attrs or not _synced_copy(base, workspace_root):
        study.set_user_attr(ATTR_BASE, base)
    return study, url


def _objectives(attrs: dict[str, Any]) -> str:
    first = attrs.get(ATTR_OBJECTIVE) or "its objective"
    return f"{first} and {attrs[ATTR_SECOND]}" if attrs.get(ATTR_SECOND) else str(first)


def _synced_copy(base: dict[str, Any], workspace_root: Path) -> bool:
    """Whether a base recipe's data paths point into this workspace's content store: a worker launched
    with ``--host`` reads copies synced there. The study keeps the base as the user wrote it (local paths,
    so promote works from the launching machine) rather than a path that exists on one host only."""
    store = f"{Path(workspace_root).resolve()}/store/"
    data = base.get("data") or {}
    sources = [s for key in ("train", "eval") for s in _as_list(data.get(key))]
    return any(isinstance(s, dict) and str(s.get("path", "")).startswith(store) for s in sources)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def load_study(name: str, url: str) -> Any:
    """An existing study (for status, enqueue, promote); a one-line error when it is not there."""
    require_optuna()
    import optuna

    storage = open_storage(url, heartbeat_interval=None)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
        known = ", ".join(names[:8]) or "none yet"
        raise SearchError(f"no study {name!r} in {redact(url)} (studies: {known}); `tailor search ls` lists them") from None


def list_studies(url: str) -> list[Any]:
    require_optuna()
    import optuna

    storage = open_storage(url, heartbeat_interval=None)
    return optuna.get_all_study_summaries(storage, include_best_trial=True)


def recipe_for_study(study: Any) -> SearchRecipe:
    """A search recipe rebuilt from the study's attributes (to enqueue and promote from any machine)."""
    base = study.user_attrs.get(ATTR_BASE)
    space = study.user_attrs.get(ATTR_SPACE)
    if not isinstance(base, dict) or not isinstance(space, dict):
        raise SearchError(f"study {study.study_name} was not created by `tailor search` (no {ATTR_BASE} attribute)")
    return SearchRecipe.model_validate(
        {
            "base": base,
            "space": space,
            "objective": study.user_attrs.get(ATTR_OBJECTIVE, "eval_loss"),
            "second_objective": study.user_attrs.get(ATTR_SECOND),
            "direction": study.directions[0].name.lower(),
            "study_name": study.study_name,
            "n_trials": 1,
        }
    )


# -- reading a study --------------------------------------------------------------------------------


@dataclass
class Counts:
    complete: int = 0
    pruned: int = 0
    failed: int = 0  # failed and not retried
    retried: int = 0  # failed, with a retry queued or run
    running: int = 0
    waiting: int = 0

    @property
    def done(self) -> int:
        return self.complete + self.pruned + self.failed


def retried_numbers(trials: list[Any]) -> set[int]:
    out: set[int] = set()
    for t in trials:
        out.update(int(n) for n in t.system_attrs.get("retry_history", []) or [])
    return out


def counts(trials: list[Any]) -> Counts:
    from optuna.trial import TrialState

    retried = retried_numbers(trials)
    c = Counts()
    for t in trials:
        if t.state == TrialState.COMPLETE:
            c.complete += 1
        elif t.state == TrialState.PRUNED:
            c.pruned += 1
        elif t.state == TrialState.FAIL:
            if t.number in retried:
                c.retried += 1
            else:
                c.failed += 1
        elif t.state == TrialState.RUNNING:
            c.running += 1
        elif t.state == TrialState.WAITING:
            c.waiting += 1
    return c


def best_trial(study: Any) -> Any | None:
    """The best trial; in a multi-objective study, the one of the Pareto front best on the first objective."""
    if len(study.directions) > 1:
        front = study.best_trials
        if not front:
            return None
        sign = 1 if study.directions[0].name == "MINIMIZE" else -1
        return min(front, key=lambda t: (sign * t.values[0], t.number))
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def pareto_front(study: Any) -> list[int]:
    """The numbers of a multi-objective study's Pareto-optimal trials (none for a single objective)."""
    return sorted(t.number for t in study.best_trials) if len(study.directions) > 1 else []


def trial_row(t: Any) -> dict[str, Any]:
    """One trial as plain data (what the CLI prints, the TUI shows and `--json` emits)."""
    start, end = t.datetime_start, t.datetime_complete
    duration = None
    if start is not None:
        duration = ((end or _now(start)) - start).total_seconds()
    steps = t.user_attrs.get("steps")
    if steps is None and t.intermediate_values:
        steps = max(t.intermediate_values)
    state = {"FAIL": "failed"}.get(t.state.name, t.state.name.lower())
    return {
        "number": t.number,
        "state": "oom" if state == "failed" and t.user_attrs.get("oom") else state,
        "params": dict(t.params) if t.params else dict(t.system_attrs.get("fixed_params") or {}),
        "derived": dict(t.user_attrs.get("derived", {}) or {}),
        "value": t.values[0] if t.values and t.state.name == "COMPLETE" else None,
        "second": t.values[1] if t.values and len(t.values) > 1 and t.state.name == "COMPLETE" else None,
        "last": float(t.intermediate_values[max(t.intermediate_values)]) if t.intermediate_values else None,
        "steps": steps,
        "duration": duration,
        "run_id": t.user_attrs.get("run_id"),
        "host": t.user_attrs.get("host"),
        "error": t.user_attrs.get("error"),
        "reason": t.user_attrs.get("reason"),  # pruned before it started: why it would not fit
        "estimate_bytes": t.user_attrs.get("estimate_bytes"),
        "peak_bytes": t.user_attrs.get("peak_bytes"),
        "retry_of": t.system_attrs.get("failed_trial"),
        "intermediate": {int(k): float(v) for k, v in sorted(t.intermediate_values.items())},
    }


def _now(like: Any) -> Any:
    import datetime

    return datetime.datetime.now(tz=like.tzinfo)


def best_history(rows: list[dict[str, Any]], direction: str) -> list[tuple[int, float]]:
    """(trial number, best objective so far) for every complete trial, in trial order."""
    out: list[tuple[int, float]] = []
    best: float | None = None
    for row in sorted(rows, key=lambda r: r["number"]):
        v = row["value"]
        if row["state"] != "complete" or v is None:
            continue
        if best is None or (v < best if direction == "minimize" else v > best):
            best = v
        out.append((row["number"], best))
    return out


def importances(study: Any) -> dict[str, float]:
    """Parameter importances (Optuna's default evaluator); empty until enough trials are complete."""
    import warnings

    import optuna

    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(done) < 3:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = (lambda t: t.values[0]) if len(study.directions) > 1 else None  # the first objective's
            return dict(optuna.importance.get_param_importances(study, target=target))
    except Exception:  # too few distinct values, single-valued params...
        return {}


def snapshot(study: Any) -> dict[str, Any]:
    """Everything the Search screen and `tailor search status` show, as plain data."""
    trials = study.get_trials(deepcopy=False)
    rows = [trial_row(t) for t in trials]
    direction = study.directions[0].name.lower()
    best = best_trial(study)
    c = counts(trials)
    return {
        "study": study.study_name,
        "direction": direction,
        "objective": study.user_attrs.get(ATTR_OBJECTIVE, "objective"),
        "second_objective": study.user_attrs.get(ATTR_SECOND),
        "pareto": pareto_front(study),
        "space": study.user_attrs.get(ATTR_SPACE, {}),
        "rows": rows,
        "best": trial_row(best) if best is not None else None,
        "history": best_history(rows, direction),
        "counts": c.__dict__ | {"done": c.done},
    }


# -- dead workers -----------------------------------------------------------------------------------


def reap_dead_trials(study: Any, runs_dir: Path | None = None) -> list[int]:
    """Fail RUNNING trials whose worker process on this host is gone, and queue their retries.

    Optuna's heartbeat does the same for any host after the grace period; on the worker's own host the
    process table tells at once, so an interrupted search continues without waiting.
    """
    import copy

    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    host = this_host()
    failed: list[int] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.system_attrs.get(ATTR_WORKER)
        # A retried trial copies its predecessor's attributes: only trust the owner record of this trial.
        if not isinstance(owner, dict) or owner.get("trial") != t.number or owner.get("host") != host:
            continue
        pid = owner.get("pid")
        if not isinstance(pid, int) or pid_alive(pid, owner.get("pid_start")):
            continue
        try:
            if storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                failed.append(t.number)
        except UpdateFinishedTrialError:
            continue  # another worker got there first
        _mark_run_failed(runs_dir, t.user_attrs.get("run_id"), f"the search worker (pid {pid}) died; trial {t.number} is retried")
        retry = _retry_callback(storage)
        if retry is not None:
            retry(study, copy.deepcopy(storage.get_trial(t._trial_id)))
    return failed


def _retry_callback(storage: Any) -> Any:
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None)
    callback = getter() if getter else None
    if callback is None:
        import optuna

        callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)
    return callback


def requeue(study: Any, trial_number: int) -> None:
    """Queue a trial's parameters again (a trial stopped by a cancel runs again on the next start)."""
    import copy

    trial = study.get_trials(deepcopy=False)[trial_number]
    _retry_callback(study._storage)(study, copy.deepcopy(trial))


def _mark_run_failed(runs_dir: Path | None, run_id: Any, reason: str) -> None:
    if runs_dir is None or not isinstance(run_id, str):
        return
    from tailor.engine.runs.rundir import RunDir
    from tailor.engine.runs.status import RunState

    run = RunDir(runs_dir / run_id)
    try:
        status = run.read_status()
    except Exception:  # a trial run on another machine, or removed
        return
    if status.state.terminal:
        return
    status.state = RunState.FAILED
    status.error = reason
    status.ended_at = time.time()
    run.write_status(status)
    with run.event_writer() as events:
        events.emit("status", state="failed", error=reason)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, sort_keys=True)
