"""Snapshots of the Evals screen and the side-by-side view at 80x24 and 120x40 (fixed stored results, UTC).

The results are written through engine.eval.results with fixed numbers and timestamps (no model, no
training): a newest evaluation with four models over four metrics, and an older end-of-training one.
"""

from __future__ import annotations

import os
import time

import pytest
from eval_helpers import sample_results
from pilot_helpers import settle_tables
from tui_helpers import T0, make_app, wait_until

from tailor.engine.eval.results import EvalResults, ModelResult, write_results
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status
from tailor.tui.screens.eval_pair import EvalPairScreen
from tailor.tui.screens.evals import EvalsScreen

SIZES = [(80, 24), (120, 40)]
NEWEST = "eval-fixed-20260101-020000-abcd"
OLDER = "demo-sft-20260101-010000-c3d4"


def _run(runs_dir, run_id: str, kind: str, start: float) -> RunDir:
    status = Status(
        run_id=run_id,
        kind=kind,
        name=run_id.rsplit("-", 3)[0],
        state=RunState.SUCCEEDED,
        host="test",
        created_at=start,
        started_at=start,
        ended_at=start + 60,
    )
    run = RunDir.create(runs_dir, run_id, f"kind: {kind}\n", status)
    run.write_status(status)
    return run


def _older_results() -> EvalResults:
    """An SFT run evaluated at the end of training: base vs the run, loss and generation metrics."""
    hib = {"eval_loss": False, "perplexity": False, "exact_match": True}
    models = [
        ModelResult(
            "base",
            "base (zero-shot)",
            "base",
            "tailor/tiny",
            metrics={"eval_loss": 4.2, "perplexity": 66.69, "exact_match": 0.0},
            seconds=3.0,
        ),
        ModelResult(
            OLDER,
            OLDER,
            "run",
            OLDER,
            run_id=OLDER,
            metrics={"eval_loss": 0.31, "perplexity": 1.363, "exact_match": 0.975},
            seconds=4.0,
        ),
    ]
    return EvalResults(
        "generation",
        list(hib),
        hib,
        models,
        baseline="base",
        primary="exact_match",
        examples=40,
        run_id=OLDER,
        created_at=T0 + 3600,
    )


@pytest.fixture
def evals_workspace(workspace, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    older = _run(workspace.runs_dir, OLDER, "sft", T0 + 3600)
    write_results(older.eval_dir, _older_results())
    newest = _run(workspace.runs_dir, NEWEST, "eval", T0 + 7200)
    res, preds = sample_results(NEWEST)
    res.created_at = T0 + 7260
    write_results(newest.eval_dir, res, preds)
    # The list is ordered by the results files' times: fix them (newest first).
    os.utime(older.eval_dir / "results.json", (T0 + 3660, T0 + 3660))
    os.utime(newest.eval_dir / "results.json", (T0 + 7260, T0 + 7260))
    yield workspace
    monkeypatch.undo()
    time.tzset()


async def _evals_shown(pilot) -> EvalsScreen:
    def ready():
        screen = pilot.app.screen
        return (
            isinstance(screen, EvalsScreen)
            and screen.scans >= 1
            and screen.list_table.row_count == 2
            and screen.models_table.row_count == 4
            and screen
        )

    return await wait_until(pilot, ready, what="the Evals screen with both evaluations and the newest table")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_evals_table(snap_compare, evals_workspace, size):
    async def ready(pilot):
        screen = await _evals_shown(pilot)
        assert screen.current.parent.name == NEWEST
        await settle_tables(pilot)

    app = make_app(evals_workspace, start_screen="evals")
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_evals_pair(snap_compare, evals_workspace, size):
    async def ready(pilot):
        screen = await _evals_shown(pilot)
        table = screen.models_table
        for model in ("sft-a", "sft-b"):
            table.move_cursor(row=table.get_row_index(model))
            await pilot.press("space")
        await pilot.press("enter")

        def shown():
            pair = pilot.app.screen
            return (
                isinstance(pair, EvalPairScreen)
                and pair.rows
                and pair.shown == pair.rows[0]["index"]
                and "Reverse: efgh" in pair.detail_text.plain  # the most disagreeing example, loaded
                and not [w for w in pilot.app.workers if w.group.startswith("eval_pair.") and w.is_running]
            )

        await wait_until(pilot, shown, what="the side-by-side view with its first example")
        await settle_tables(pilot)

    app = make_app(evals_workspace, start_screen="evals")
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_evals_launch_form(snap_compare, evals_workspace, size):
    async def ready(pilot):
        from tailor.tui.screens.evals_launch import LaunchEval

        await _evals_shown(pilot)
        await pilot.press("n")
        form = await wait_until(pilot, lambda: isinstance(pilot.app.screen, LaunchEval) and pilot.app.screen,
                                what="the launch form")
        await wait_until(pilot, lambda: form.query_one("#launch-source").highlighted == 0, what="the first source")

    app = make_app(evals_workspace, start_screen="evals")
    assert snap_compare(app, terminal_size=size, run_before=ready)
