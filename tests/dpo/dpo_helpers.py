"""Create runs in a workspace and run their worker in this process (real training, no subprocess)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from run_helpers import queue_run, run_worker  # run_worker is re-exported

from tailor.engine.recipes.load import parse_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status


def make_run(ws: Any, recipe: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None) -> RunDir:
    """A queued run of ``recipe`` (a file in the workspace's recipes/, or a mapping written there)."""
    if isinstance(recipe, dict):
        data = recipe
        source = ws.recipes_dir / "test-recipe.yaml"
    else:
        source = ws.recipes_dir / recipe
        data = yaml.safe_load(source.read_text())
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    parsed = parse_recipe(data, source=str(source), base_dir=ws.recipes_dir)
    return queue_run(ws, parsed)


def metrics(run: RunDir, split: str = "train") -> list[dict[str, Any]]:
    """The metric events of one split, in order: [{"step": n, **values}]."""
    return [
        {"step": e["step"], **e["values"]}
        for e in run.events()
        if e["type"] == "metric" and e["split"] == split
    ]


def logs(run: RunDir) -> list[str]:
    return [e["message"] for e in run.events() if e["type"] == "log"]


def succeeded(run: RunDir) -> Status:
    status = run_worker(run)
    assert status.state == RunState.SUCCEEDED, (
        status.error,
        run.stderr_file.read_text() if run.stderr_file.exists() else "",
    )
    return status


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path
