"""Helpers for TUI tests: an app over a workspace, condition waits (no fixed sleeps), fixed runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pilot_helpers import wait_until  # re-exported for this area's tests

from tailor.engine.fsutil import atomic_write_text
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status
from tailor.tui.widgets.run_table import COMPACT_WIDTH

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: fixed times keep snapshots stable


def make_app(workspace, **tui: Any):
    """A TailorApp over ``workspace`` with ``[tui]`` settings overridden (fast re-scans by default)."""
    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp

    tui.setdefault("rescan_s", 0.3)
    return TailorApp(workspace, load_settings(workspace=workspace.root, tui=tui))


def plots_ready(screen) -> bool:
    """Every loss plot on ``screen`` is mounted (plotext loads in a worker after the first paint)."""
    from tailor.tui.widgets.curves import Curves

    return all(curves.ready for curves in screen.query(Curves))


def runs_screen(app):
    from tailor.tui.screens.runs import RunsScreen

    screen = app.screen
    assert isinstance(screen, RunsScreen), f"expected the Runs screen, got {screen!r}"
    return screen


async def wait_runs_loaded(pilot, count: int | None = None, timeout: float = 10.0):
    """Wait for the first listing (and ``count`` rows) and for the selected run's history and log."""

    def ready() -> bool:
        screen = runs_screen(pilot.app)
        if screen.scans < 1 or (count is not None and screen.table.row_count != count):
            return False
        if not screen.table.painted:  # painted with settled column widths (they settle on idle)
            return False
        if screen.table.compact != (pilot.app.size.width < COMPACT_WIDTH):  # a resize is on its way
            return False
        if screen.detail is None or not plots_ready(screen):
            return False
        info = screen.selected
        if info is None:
            return count == 0
        return (
            screen.detail.run_id == info.run_id
            and info.history_loaded
            and not screen._dirty
            and not screen.settings_pending  # method, r, lr... of the rows on screen
            and screen.detail.log_pane.pending == 0
            and not [w for w in pilot.app.workers if w.group == "runs.history" and w.is_running]
        )

    await wait_until(pilot, ready, timeout=timeout, what="runs listed and the selected run loaded")
    return runs_screen(pilot.app)


def write_run(
    workspace,
    run_id: str,
    *,
    state: str = "succeeded",
    kind: str = "sft",
    steps: int = 20,
    total: int | None = 20,
    start: float = T0,
    step_s: float = 3.0,
    loss0: float = 2.5,
    eval_every: int = 5,
    error: str | None = None,
) -> RunDir:
    """A finished run written through the run-directory API with fixed timestamps."""
    path = workspace.runs_dir / run_id
    path.mkdir(parents=True)
    run = RunDir(path)
    atomic_write_text(run.recipe_file, yaml.safe_dump({"kind": kind, "name": run_id.rsplit("-", 3)[0]}))
    latest: dict[str, float] = {}
    with run.event_writer() as events:
        events.emit("status", state="queued", time=start - 2)
        events.emit("status", state="running", pid=1, host="testhost", attempt=0, time=start)
        events.emit("log", level="info", message="data: 1000 train rows, 100 eval rows", time=start + 1)
        for step in range(1, steps + 1):
            loss = round(loss0 / (1 + 0.25 * step), 4)
            latest.update(loss=loss, learning_rate=round(3e-3 * (1 - step / (total or steps + 1)), 6))
            events.emit("metric", step=step, split="train", epoch=round(step / 10, 2),
                        values={"loss": loss, "learning_rate": latest["learning_rate"], "samples_per_second": 16.0},
                        time=start + step * step_s)
            if eval_every and step % eval_every == 0:
                latest["eval_loss"] = round(loss * 1.1, 4)
                events.emit("metric", step=step, split="eval", values={"eval_loss": latest["eval_loss"]},
                            time=start + step * step_s + 1)
        end = start + steps * step_s + 2
        final = {"state": state, **({"error": error} if error else {})}
        events.emit("status", **final, time=end)
    status = Status(
        run_id=run_id, kind=kind, name=run_id.rsplit("-", 3)[0], state=RunState(state), host="testhost",
        pid=None, created_at=start - 2, started_at=start, ended_at=end, error=error, step=steps,
        total_steps=total, latest=latest,
    )
    run.write_status(status)
    return run


def fixed_runs(workspace) -> list[str]:
    """Three finished runs (succeeded, failed, cancelled) for deterministic screens."""
    ids = [
        "demo-sft-20260101-000000-a1b2",
        "demo-sft-20260101-010000-c3d4",
        "demo-dpo-20260101-020000-e5f6",
    ]
    write_run(workspace, ids[0], steps=30, total=30)
    write_run(workspace, ids[1], state="failed", steps=12, total=30, start=T0 + 3600, loss0=3.0,
              error="data/train.jsonl:12: messages: expected a list of {role, content}; fix the row")
    write_run(workspace, ids[2], state="cancelled", kind="dpo", steps=8, total=40, start=T0 + 7200, loss0=0.7,
              eval_every=4)
    return ids


def shrink_recipe(path: Path, **train: Any) -> None:
    """Make a workspace recipe train for a few steps (tests stay fast on a shared CPU)."""
    data = yaml.safe_load(path.read_text())
    data.setdefault("train", {}).update(train)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
