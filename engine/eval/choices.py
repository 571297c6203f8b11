"""The models a user can pick, listed once for every picker: the Playground's a/b, the Evals launch
form and ``tailor chat --list``.

Newest first: succeeded runs of every model-producing kind (sft, dpo, merge, ...; a search's trials are
runs too) and the merged models ``tailor export RUN --merge`` wrote (engine/runs/exports.py), offered
as ``model:PATH``. Light: reads status.json files and the exports record; no ML import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tailor.engine.workspace import Workspace


@dataclass(frozen=True)
class ModelChoice:
    ref: str  # what the chat worker / an eval recipe takes: a run id, or model:PATH
    label: str  # one line for a picker
    kind: str  # the run's kind (sft, dpo, merge...), or "merged" for an exported folder
    run_id: str  # the run it comes from
    host: str  # where it lives ("local" for an exported folder)
    created_at: float
    trial: int | None = None

    @property
    def is_export(self) -> bool:
        return self.ref.startswith("model:")

    @property
    def path(self) -> str | None:
        return self.ref.partition(":")[2] if self.is_export else None


def model_choices(ws: Workspace) -> list[ModelChoice]:
    from tailor.engine import kinds
    from tailor.engine.runs.exports import exported_models

    out = []
    for run in ws.run_dirs():
        try:
            st = run.read_status()
        except Exception:  # a half-written run is simply not offered
            continue
        if st.kind not in kinds.model_producing() or st.state.value != "succeeded":
            continue
        trial = st.links.get("trial")
        what = f"trial {trial} · " if trial is not None else ""
        host = st.via or st.host or "local"
        out.append(ModelChoice(st.run_id, f"{st.run_id}  ({what}{st.kind}, {host})", st.kind, st.run_id, host,
                               float(st.created_at or 0), trial if isinstance(trial, int) else None))
    for entry in exported_models(ws):
        path = Path(entry["path"])
        shown = _short(ws, path)
        out.append(ModelChoice(f"model:{path}", f"{shown}  (merged from {entry.get('run_id', '?')})", "merged",
                               str(entry.get("run_id", "")), "local", float(entry.get("time") or 0)))
    out.sort(key=lambda c: c.created_at, reverse=True)
    return out


def _short(ws: Workspace, path: Path) -> str:
    """The folder relative to the workspace (or ~) when it is inside it: picker lines stay short."""
    for root, prefix in ((ws.root.resolve(), ""), (Path.home(), "~/")):
        try:
            return prefix + str(path.relative_to(root))
        except ValueError:
            continue
    return str(path)
