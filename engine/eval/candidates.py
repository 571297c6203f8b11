"""What an evaluation compares, and loading each one (worker side: imports torch/peft lazily).

A :class:`Candidate` is one row of the table: the base model zero-shot or few-shot, a finished run's
adapter (or full model), an adapter folder, or the trials of a search. Runs are looked up (``tailor.engine.runs.lookup``) in the
workspace the eval run lives in (``<workspace>/runs/<eval run>``), by id, unique prefix or folder.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine import kinds
from tailor.engine.errors import ModelError, RunError
from tailor.engine.recipes.common import ModelSpec
from tailor.engine.runs.lookup import find_run, is_latest, latest_run, model_folder, run_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState

if TYPE_CHECKING:
    from tailor.engine.recipes.merge import MergeRecipe
    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.runs.status import Status
    from tailor.engine.workspace import Workspace


@dataclass
class Candidate:
    id: str
    label: str
    kind: str  # base | run | adapter | trial
    source: str
    base: ModelSpec  # for a run chained from a full model (method full/partial): that run's adapter/ folder
    path: Path | None = None  # adapter or full-model folder; None for the base model itself
    shots: int = 0
    run_id: str | None = None
    merge_first: list[Path] = field(default_factory=list)  # adapters folded into the base before this one
    open: Callable[[], AbstractContextManager[tuple[Any, Any]]] | None = None  # (model, tokenizer) already in memory


LINEAGE_FILE = "tailor_lineage.json"  # written by engine.train.chain.write_lineage beside a chained adapter


def _is_adapter(folder: Path) -> bool:
    return (folder / "adapter_config.json").exists()  # else a full model (methods full, partial)


def _relocated(ws: Workspace, recorded: str, depth: int) -> Path | None:
    """A path the trainer recorded, or the same ``runs/<id>[/adapter]`` in this workspace (a moved or
    fetched workspace keeps run ids but not absolute paths); None when neither exists."""
    path = Path(recorded)
    for cand in (path, ws.runs_dir.joinpath(*path.parts[-depth:]) if len(path.parts) >= depth else None):
        if cand is not None and cand.exists():
            return cand
    return None


def _lineage(ws: Workspace, run: RunDir, recipe: TrainableRecipe | MergeRecipe) -> tuple[str | None, list[Path]] | None:
    """(base, merge_first) from the run's ``adapter/tailor_lineage.json``: what the trainer applied its
    adapter to, exactly; None when the run has no (readable) lineage file."""
    file = run.adapter_dir / LINEAGE_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    base, recorded = data.get("base_model"), data.get("merge_first", [])
    if not isinstance(base, str) or not isinstance(recorded, list) or not all(isinstance(p, str) for p in recorded):
        return None
    merge_first = []
    for item in recorded:
        found = _relocated(ws, item, 2)
        if found is None:
            raise RunError(f"run {run.run_id}: the adapter {item} it was trained on top of is missing "
                           f"({file}); copy that run into {ws.runs_dir}")
        merge_first.append(found)
    if base == recipe.model.name_or_path:
        return None, merge_first
    found = _relocated(ws, base, 2)  # a full-model ancestor: <runs>/<id>/adapter
    if found is None and Path(base).is_absolute():
        raise RunError(f"run {run.run_id}: the model {base} it was trained from is missing ({file}); "
                       f"copy that run into {ws.runs_dir}")
    return (str(found) if found else base), merge_first


def _parent(ws: Workspace, run: RunDir, recipe: TrainableRecipe | MergeRecipe, links: dict[str, Any]) -> RunDir | None:
    """The run ``run`` started from: as the trainer recorded it (links), else the recipe's ``from_run``.

    The recipe may name a prefix that later runs made ambiguous, so it is only the last resort.
    """
    recorded = links.get("from_run_path")
    if isinstance(recorded, str) and recorded:
        found = _relocated(ws, recorded, 1)
        if found is not None and (found / "status.json").exists():
            return RunDir(found)
    run_id = links.get("from_run")
    if isinstance(run_id, str) and run_id and (ws.runs_dir / run_id / "status.json").exists():
        return RunDir(ws.runs_dir / run_id)
    ref = getattr(recipe, "from_run", None)
    if not ref:
        return None
    try:
        return find_run(ws, ref)
    except RunError as exc:
        raise RunError(f"run {run.run_id}: from_run: {exc}") from None


def chain_start(ws: Workspace, run: RunDir, recipe: TrainableRecipe | MergeRecipe, seen: frozenset[str] = frozenset()) -> tuple[str | None, list[Path]]:
    """What the run's adapter was trained on top of: (base, merge_first).

    ``base`` is a full model's folder that replaces ``recipe.model`` (None: ``recipe.model`` itself) and
    ``merge_first`` the adapters folded into it first, oldest first. The trainer's own record
    (adapter/tailor_lineage.json) wins; without it the lineage is walked up as engine.train.chain built
    it: a ``merge`` child folds its parent's adapter in, a ``stack`` child keeps training the parent's
    adapter (so adds nothing), and a full-model parent is the new base — ancestors above a ``stack``
    still count.
    """
    recorded = _lineage(ws, run, recipe)
    if recorded is not None:
        return recorded
    links = run.read_status().links
    parent = _parent(ws, run, recipe, links)
    if parent is None:
        return None, []
    if parent.run_id in seen | {run.run_id}:
        raise RunError(f"run {run.run_id}: from_run leads back to {parent.run_id}; the lineage is a loop")
    folder = model_folder(parent)
    if not _is_adapter(folder):
        return str(folder), []
    base, merge_first = chain_start(ws, parent, run_recipe(parent), seen | {run.run_id})
    mode = links.get("from_run_mode") or getattr(recipe, "from_run_mode", "merge")
    return base, (merge_first + [folder] if mode == "merge" else merge_first)


def run_candidate(ws: Workspace, ref: str, *, base_dir: Path | None = None, kind: str = "run") -> Candidate:
    run = find_run(ws, ref, base_dir) if not is_latest(ref) else latest_run(ws, ref)
    if run is None:
        raise RunError(f"runs: {ref}: no succeeded sft/dpo run{' named ' + ref.partition(':')[2] if ':' in ref else ''} yet")
    status = run.read_status()
    if status.kind not in kinds.model_producing():
        listed = "/".join(kinds.model_producing())
        raise RunError(f"run {run.run_id} is a {status.kind} run; list {listed} runs under runs: (searches under trials:)")
    folder = model_folder(run)
    recipe = run_recipe(run)
    # a full model is complete in itself; an adapter needs the model it was trained on top of
    base, merge_first = chain_start(ws, run, recipe) if _is_adapter(folder) else (None, [])
    spec = recipe.model if base is None else recipe.model.model_copy(update={"name_or_path": base, "revision": None, "gguf_file": None})
    label = run.run_id if kind == "run" else f"trial {status.links.get('trial', '?')} ({run.run_id})"
    return Candidate(
        id=run.run_id,
        label=label,
        kind=kind,
        source=run.run_id,
        base=spec,
        path=folder,
        run_id=run.run_id,
        merge_first=merge_first,
    )


def adapter_candidate(ref: str, base: ModelSpec, *, base_dir: Path | None = None) -> Candidate:
    path = Path(ref).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not ((path / "adapter_config.json").exists() or (path / "config.json").exists()):
        raise ModelError(f"adapters: {ref}: not an adapter or model folder (no adapter_config.json or config.json)")
    return Candidate(id=f"adapter:{path.name}", label=path.name, kind="adapter", source=str(path.resolve()), base=base, path=path.resolve())


def trial_candidates(ws: Workspace, ref: str, top: int | None, *, base_dir: Path | None = None) -> list[Candidate]:
    """The succeeded trial runs of a search run (best ``top`` by the search's objective when given)."""
    search = find_run(ws, ref, base_dir)
    status = search.read_status()
    if status.kind != "search":
        raise RunError(f"trials: {search.run_id} is a {status.kind} run, not a search; list it under runs:")
    statuses = []
    for run in ws.run_dirs():
        try:
            statuses.append((run, run.read_status()))
        except RunError:
            continue
    # a search with workers > 1 runs sibling search workers (links.parent) that start trials too
    searches = {search.run_id} | {r.run_id for r, st in statuses if st.kind == "search" and st.links.get("parent") == search.run_id}
    trials = [(r, st) for r, st in statuses if st.state == RunState.SUCCEEDED and st.links.get("search_run") in searches]
    if not trials:
        raise RunError(f"trials: search {search.run_id} has no succeeded trial runs yet")
    if top:
        trials = _best(trials, search)[:top]
    return [run_candidate(ws, run.run_id, kind="trial") for run, _ in trials]


def _best(trials: list[tuple[RunDir, Status]], search: RunDir) -> list[tuple[RunDir, Status]]:
    """Trials ordered best first by the search's objective (as reported in each trial's status)."""
    try:
        recipe = run_recipe(search)
        objective, direction = recipe.objective, recipe.direction or "minimize"
    except Exception:  # an unreadable search recipe: keep the trials in run order
        return trials

    def value(status: Status) -> float | None:
        for key in (objective, objective.removeprefix("eval_"), f"eval_{objective}"):
            v = status.latest.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
        return None

    valued = [t for t in trials if value(t[1]) is not None]
    rest = [t for t in trials if value(t[1]) is None]
    valued.sort(key=lambda t: value(t[1]) or 0.0, reverse=direction == "maximize")  # never None here
    return valued + rest


# -- loading ------------------------------------------------------------------------------------


def device() -> Any:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_candidate(cand: Candidate, cache: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) for a candidate, in eval mode on the best device.

    ``cache`` keeps the last loaded base model (by name) so base zero-shot and few-shot share one load.
    """
    from tailor.engine.models.loading import load_model, load_tokenizer

    key = f"{cand.base.name_or_path}@{cand.base.revision}"
    if cand.path is None:
        if cache is not None and cache.get("key") == key:
            return cache["model"], cache["tokenizer"]
        release(cache)
        model = load_model(cand.base).to(device()).eval()
        tokenizer = load_tokenizer(cand.base)
        if cache is not None:
            cache.update(key=key, model=model, tokenizer=tokenizer)
        return model, tokenizer
    release(cache)
    tok_dir = str(cand.path) if (cand.path / "tokenizer_config.json").exists() else None
    tokenizer = load_tokenizer(cand.base, tok_dir)
    if (cand.path / "config.json").exists() and not (cand.path / "adapter_config.json").exists():
        return load_model(cand.base, str(cand.path)).to(device()).eval(), tokenizer  # a full fine-tune
    return load_adapted(cand, tokenizer).to(device()).eval(), tokenizer


def load_adapted(cand: Candidate, tokenizer: Any, *, dtype: str | None = None) -> Any:
    """The candidate's adapter on the model it was trained on top of, exactly as the trainer built it:
    the base (a GGUF's converted folder, or a full-model ancestor), the lineage's ``merge_first`` adapters
    folded in, then ``cand.path`` as a PeftModel (on the CPU). Evaluation and export both load runs here,
    so an exported model is the model that was evaluated.
    """
    from peft import PeftModel

    from tailor.engine.models.loading import load_model, spec_path

    assert cand.path is not None, "a run or adapter candidate"
    model = load_model(cand.base, spec_path(cand.base), dtype=dtype)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))  # the run added tokens (a pad token, chat tokens)
    try:
        for parent in cand.merge_first:
            model = PeftModel.from_pretrained(model, str(parent)).merge_and_unload()
        return PeftModel.from_pretrained(model, str(cand.path))
    except Exception as exc:  # a mismatched adapter gives long PEFT/torch errors
        from tailor.engine.errors import one_line

        raise ModelError(f"{cand.label}: cannot load the adapter {cand.path} onto {cand.base.name_or_path}: {one_line(exc)}") from exc


def release(cache: dict[str, Any] | None) -> None:
    """Free the cached base model (and GPU memory) before loading another model."""
    if cache:
        cache.clear()
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
