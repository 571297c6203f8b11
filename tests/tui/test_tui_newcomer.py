"""A newcomer's tour (issue 25): one word for a pruned trial everywhere, and the smaller surprises fixed.

Fixed, finished runs written to disk; no training.
"""

from __future__ import annotations

from click.testing import CliRunner
from tui_helpers import make_app, wait_runs_loaded, wait_until, write_run

from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.tui.cli import cli

SIZE = (120, 40)
TRIAL = "trial-20260101-000000-aaaa"


def _pruned_trial(workspace) -> RunDir:
    run = write_run(workspace, TRIAL, state="cancelled")
    status = run.read_status()
    status.trial_state = "pruned"  # as engine.search.trial writes it
    run.write_status(status)
    return run


async def test_a_pruned_trial_is_pruned_in_the_detail_header_and_notifications(workspace) -> None:
    from tailor.tui.widgets.run_data import RunInfo

    run = _pruned_trial(workspace)
    write_run(workspace, "demo-sft-20260101-010000-c3d4", start=1_767_229_200.0)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 2)
        screen.table.select(TRIAL)
        await wait_until(pilot, lambda: screen.detail.run_id == TRIAL, what="the trial's detail")
        title = str(screen.detail.query_one("#detail-title").render())
        assert "pruned" in title and "cancelled" not in title
        await pilot.press("x")  # cancel a finished trial: the warning names it pruned
        await wait_until(pilot, lambda: any("already pruned" in str(n.message) for n in app._notifications))
        # followed live: the final status event carries trial_state (engine/worker/context.py), the
        # notification says pruned
        live = RunInfo(TRIAL, "local", run.read_status().model_copy(update={"state": RunState.RUNNING}))
        live.apply([{"seq": 999, "time": 1.0, "type": "status", "state": "cancelled", "trial_state": "pruned"}])
        assert live.word == "pruned"
        app.clear_notifications()
        screen._announce(live, RunState.RUNNING)
        await wait_until(pilot, lambda: [str(n.message) for n in app._notifications] == [f"{TRIAL} pruned"],
                         what="the pruned notification")


def test_a_pruned_trial_is_pruned_in_tailor_compare(workspace) -> None:
    _pruned_trial(workspace)
    write_run(workspace, "demo-sft-20260101-010000-c3d4", start=1_767_229_200.0)
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "compare", TRIAL, "demo-sft-20260101-010000-c3d4"])
    assert out.exit_code == 0 and "pruned" in out.output and "cancelled" not in out.output, out.output
