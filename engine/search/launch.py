"""Start, stop, enqueue and promote: the actions the CLI and the Search screen share.

Everything that can be wrong is checked before a worker starts: the recipe (schema, space, base
recipe) and, for a local search, the storage (opened, the study created or continued, its direction
and objective compared with the recipe's). Remote searches are checked on their host by the worker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine import stack
from tailor.engine.errors import RecipeError, RunError
from tailor.engine.recipes.common import Recipe
from tailor.engine.recipes.overrides import load_with_overrides
from tailor.engine.runs.status import Status
from tailor.engine.search import SearchError

if TYPE_CHECKING:
    from tailor.engine.executors.base import Executor
    from tailor.engine.recipes.search import SearchRecipe
    from tailor.engine.workspace import Workspace


def load_search_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Any:
    recipe: Recipe = load_with_overrides(Path(path), overrides)
    if recipe.kind != "search":
        raise RecipeError(f"{path}: kind is {recipe.kind}; `tailor search` takes a kind: search recipe (use `tailor run`)")
    return recipe


def preflight(recipe: SearchRecipe, workspace_root: Path) -> str:
    """Open the storage and create or continue the study; returns the storage URL. Blocking."""
    from tailor.engine.search.study import open_study

    _, url = open_study(recipe, workspace_root)
    return url


async def start_search(
    executor: Executor,
    workspace: Workspace,
    path: str | Path,
    *,
    overrides: dict[str, Any] | None = None,
    workers: int | None = None,
    name: str | None = None,
) -> Status:
    """Validate, check the storage (local searches), then launch the search worker (it starts its siblings)."""
    overrides = dict(overrides or {})
    if workers is not None:
        if workers < 1:
            raise SearchError("--workers must be at least 1")
        overrides["workers"] = workers
    recipe = await asyncio.to_thread(load_search_recipe, path, overrides or None)
    links: dict[str, Any] = {"study": recipe.study_name}
    if getattr(executor, "host", "local") == "local":
        from tailor.engine.search.storage import redact

        stack.require("a local search", launch=True)  # before Optuna opens its storage or a run directory exists
        url = await asyncio.to_thread(preflight, recipe, workspace.root)
        links["storage"] = redact(url)
    return await executor.launch(Path(path), name=name or recipe.study_name, overrides=overrides or None, links=links)


def search_runs(statuses: list[Status], study: str, *, active_only: bool = True) -> list[Status]:
    """The search worker runs of a study among run statuses."""
    return [
        s
        for s in statuses
        if s.kind == "search" and s.links.get("study") == study and (s.state.active or not active_only)
    ]


async def stop_search(executor: Executor, study: str, *, wait: float = 0.0) -> list[Status]:
    """Cancel every running worker of the study (each stops its trial and queues it to run again)."""
    targets = search_runs(await executor.list_runs(), study)
    if not targets:
        raise RunError(f"no running search for study {study!r}; `tailor runs --state running` lists runs")
    out = []
    for status in targets:
        try:
            out.append(await executor.cancel(status.run_id, wait=wait))
        except RunError:
            continue  # ended meanwhile
    return out


def enqueue(study_name: str, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """Queue a trial with hand-picked parameters (the rest are sampled); returns the checked params."""
    from tailor.engine.search.space import check_enqueue
    from tailor.engine.search.study import load_study, recipe_for_study

    if not params:
        raise SearchError("give at least one parameter, e.g. -p r=16 -p learning_rate=2e-4")
    study = load_study(study_name, url)
    recipe = recipe_for_study(study)
    checked = check_enqueue(recipe.space, params)
    study.enqueue_trial(checked, user_attrs={"enqueued": True}, skip_if_exists=False)
    return checked


def promoted_recipe(study_name: str, url: str, trial_number: int | None = None) -> tuple[int, dict[str, Any]]:
    """(trial number, recipe mapping) of a full training run with the best (or given) trial's parameters."""
    from tailor.engine.search.space import promoted_recipe_data
    from tailor.engine.search.study import best_trial, load_study, recipe_for_study

    study = load_study(study_name, url)
    recipe = recipe_for_study(study)
    if trial_number is None:
        trial = best_trial(study)
        if trial is None:
            raise SearchError(f"study {study_name} has no complete trial yet: nothing to promote")
    else:
        trials = study.get_trials(deepcopy=False)
        if not 0 <= trial_number < len(trials):
            raise SearchError(f"study {study_name} has no trial {trial_number} (0..{len(trials) - 1})")
        trial = trials[trial_number]
        if trial.state.name != "COMPLETE":
            raise SearchError(f"trial {trial_number} of {study_name} is {trial.state.name.lower()}, not complete")
    values = {**trial.params, **(trial.user_attrs.get("derived") or {})}
    name = f"{study_name[:48]}-t{trial.number}-full"
    data = promoted_recipe_data(recipe, values, name=name)
    data["description"] = (
        f"Promoted from study {study_name}, trial {trial.number} ({recipe.objective} {trial.values[0]:.6g}); "
        f"trial run {trial.user_attrs.get('run_id', '?')}"
    )
    return trial.number, data


async def promote(
    executor: Executor,
    workspace: Workspace,
    study_name: str,
    url: str,
    *,
    trial_number: int | None = None,
    launch: bool = True,
) -> tuple[Path, Status | None]:
    """Write the promoted recipe into the workspace's recipes/ and (by default) launch it."""
    from tailor.engine.fsutil import atomic_write_text
    from tailor.engine.recipes.load import dump_recipe, parse_recipe

    number, data = await asyncio.to_thread(promoted_recipe, study_name, url, trial_number)
    filename = f"{data['name']}.yaml"
    recipe = parse_recipe(data, source=filename, check_files=False)
    path = Path(workspace.recipes_dir) / filename
    header = f"# {data['description']}\n"
    atomic_write_text(path, header + dump_recipe(recipe), mode=0o644)
    if not launch:
        return path, None
    links = {"promoted_from": {"study": study_name, "trial": number}}
    status = await executor.launch(path, links=links)
    return path, status
