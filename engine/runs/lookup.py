"""Finding runs from the references recipes and commands use: id, unique prefix, folder, ``latest[:NAME]``.

Light (stdlib + pydantic): shared by evaluation (``tailor.engine.eval.candidates``), chained training
(``tailor.engine.train.chain``) and the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from tailor.engine import kinds
from tailor.engine.errors import RunError
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState


class RunStore(Protocol):
    """Where lookups find runs: a workspace (engine/workspace.py, a floor above the run-directory contract)."""

    def run(self, ref: str) -> RunDir: ...
    def run_dirs(self) -> list[RunDir]: ...


def is_latest(ref: str) -> bool:
    return ref == "latest" or ref.startswith("latest:")


def find_run(ws: RunStore, ref: str, base_dir: Path | None = None) -> RunDir:
    """A run by id, unique prefix, or folder (absolute, or relative to the recipe's folder)."""
    path = Path(ref).expanduser()
    for cand in (path, (base_dir / path) if base_dir and not path.is_absolute() else None):
        if cand is not None and (cand / "status.json").exists():
            return RunDir(cand.resolve())
    return ws.run(ref)


def latest_run(ws: RunStore, ref: str) -> RunDir | None:
    """``latest`` / ``latest:NAME``: the newest succeeded sft/dpo run (named NAME), or None."""
    name = ref.partition(":")[2].strip() or None
    for run in reversed(ws.run_dirs()):
        try:
            st = run.read_status()
        except RunError:
            continue
        if st.state == RunState.SUCCEEDED and st.kind in kinds.model_producing() and (name is None or st.name == name):
            return run
    return None


def model_folder(run: RunDir) -> Path:
    """The run's final adapter (or full model) folder; RunError when it has none."""
    folder = run.adapter_dir
    if (folder / "adapter_config.json").exists() or (folder / "config.json").exists():
        return folder
    try:
        state = run.read_status().state.value
    except RunError:
        state = "unknown"
    raise RunError(
        f"run {run.run_id} ({state}) has no adapter/ to evaluate; evaluate a succeeded sft or dpo run"
    )


def run_recipe(run: RunDir) -> Any:
    from tailor.engine.recipes.load import parse_recipe

    return parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file), check_files=False)
