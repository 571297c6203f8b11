"""Rebuilding a run's status.json from what the worker wrote: ``events.jsonl`` and the frozen recipe.

A status file can be lost to garbage (a full disk, a hand edit, a bad copy). The events hold every
state change, metric and checkpoint, so the status is rebuilt from them rather than the run being
hidden: ``tailor runs --repair RUN``, and ``resume`` does it first when needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from tailor.engine.runs.status import RunState, Status


class RunFiles(Protocol):
    """What repair reads of a run directory (engine/runs/rundir.py's RunDir, which calls it)."""

    @property
    def run_id(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def recipe_file(self) -> Path: ...
    @property
    def events_file(self) -> Path: ...


def recipe_identity(run: RunFiles) -> tuple[str, str | None]:
    """``(kind, name)`` from the frozen recipe; ``("?", None)`` where it is unreadable."""
    import yaml

    try:
        data = yaml.safe_load(run.recipe_file.read_text(encoding="utf-8")[:1_000_000])
    except (OSError, ValueError, yaml.YAMLError):
        return "?", None
    if not isinstance(data, dict):
        return "?", None
    kind, name = data.get("kind"), data.get("name")
    return (kind if isinstance(kind, str) else "?"), (name if isinstance(name, str) else None)


def rebuild_status(run: RunFiles) -> Status:
    """The status the events describe. A run whose last state is active and whose worker is gone is
    written as failed (``resume`` then continues it); a live worker will overwrite it on its next write."""
    kind, name = recipe_identity(run)
    from tailor.engine.runs.events import scan_events

    events = list(scan_events(run.events_file))
    fields: dict[str, Any] = {"run_id": run.run_id, "kind": kind, "name": name}
    latest: dict[str, float] = {}
    links: dict[str, Any] = {}
    state, step, attempt = RunState.QUEUED, 0, 0
    for event in events:
        etype = event["type"]
        if etype == "status" and isinstance(event.get("links"), dict):
            links.update(event["links"])  # recipe, overrides... as the launch wrote them
        if isinstance(event.get("total_steps"), int) and event["total_steps"] > 0:
            fields["total_steps"] = event["total_steps"]
        if etype == "status":
            try:
                state = RunState(event["state"])
            except ValueError:
                continue
            if state == RunState.RUNNING:
                fields.setdefault("started_at", event["time"])
                fields.update(pid=event.get("pid"), ended_at=None, error=None)
                if isinstance(event.get("host"), str):
                    fields["host"] = event["host"]
            elif state.terminal:
                fields.update(ended_at=event["time"], error=event.get("error"))
            if isinstance(event.get("attempt"), int):
                attempt = max(attempt, event["attempt"])
        elif etype == "metric":
            step = max(step, event["step"])
            latest.update({k: float(v) for k, v in event["values"].items()})
        elif etype == "checkpoint":
            step = max(step, event["step"])
    if events:
        fields["created_at"] = events[0]["time"]
    if state.active:
        from tailor.engine.runs import lock

        if not lock.is_locked(run.path):
            fields["ended_at"] = events[-1]["time"] if events else None
            fields["error"] = "status.json was rebuilt from events.jsonl; the worker is gone; resume it"
            state = RunState.FAILED
    fields.setdefault("total_steps", _checkpoint_total(run))
    return Status(**fields, state=state, step=step, attempt=attempt, latest=latest, links={**links, "repaired": True})


def _checkpoint_total(run: RunFiles) -> int | None:
    """``max_steps`` from the newest checkpoint's trainer_state.json (runs from before events carried it)."""
    import json
    import re

    best: tuple[int, Path] | None = None
    for child in (run.path / "checkpoints").glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", child.name)
        if m and (best is None or int(m.group(1)) > best[0]):
            best = (int(m.group(1)), child)
    if best is None:
        return None
    try:
        total = json.loads((best[1] / "trainer_state.json").read_text()).get("max_steps")
    except (OSError, ValueError, AttributeError):
        return None
    return total if isinstance(total, int) and total > 0 else None
