"""The workspace's record of exported models (``<workspace>/exports.jsonl``), so pickers offer them.

``tailor export RUN OUT --merge`` (and the Runs screen's export) append one line per export:
``{"path", "kind", "run_id", "base_model", "time"}``. A merged (or full) model folder is a complete
model: the Playground, ``tailor chat`` and the Evals launch form offer it as ``model:PATH``. Folders
that were moved or deleted since are simply not offered. Light: stdlib only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Protocol


class WorkspaceRoot(Protocol):
    """The workspace whose record this is (engine/workspace.py, a floor above the run-directory contract)."""

    @property
    def root(self) -> Path: ...

EXPORTS_FILE = "exports.jsonl"
MODEL_KINDS = ("merged", "model")  # loadable with AutoModelForCausalLM on their own (not adapters, GGUF)


def record_export(ws: WorkspaceRoot, path: Path, kind: str, run_id: str, base_model: str) -> None:
    """Append one export to the record (0600; one short line, so appends do not interleave)."""
    line = json.dumps({"path": str(Path(path).resolve()), "kind": kind, "run_id": run_id,
                       "base_model": base_model, "time": time.time()})
    fd = os.open(ws.root / EXPORTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def exported_models(ws: WorkspaceRoot) -> list[dict[str, Any]]:
    """The recorded merged/full model folders that still hold a model, newest first, one per path."""
    try:
        lines = (ws.root / EXPORTS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    seen: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # a torn last line: skip it
            continue
        if not isinstance(entry, dict) or entry.get("kind") not in MODEL_KINDS or not isinstance(entry.get("path"), str):
            continue
        seen[entry["path"]] = entry  # a re-export (--force) to the same folder: the latest wins
    found = [e for e in seen.values() if (Path(e["path"]) / "config.json").is_file()]
    return sorted(found, key=lambda e: float(e.get("time") or 0), reverse=True)
