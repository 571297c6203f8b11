"""Following a live run: events appended by a worker reach the table, curves and log; a crash is announced.

The "worker" is a real process (sleep) that the run's status names, so the run counts as alive; the
test writes the events a trainer would, through the run-directory API.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from tui_helpers import make_app, wait_runs_loaded, wait_until

from tailor.engine.runs.liveness import process_start, this_host
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

SIZE = (120, 40)


@pytest.fixture
def live_run(workspace):
    proc = subprocess.Popen(["sleep", "120"])
    path = workspace.runs_dir / "live-20260105-000000-abcd"
    path.mkdir(parents=True)
    run = RunDir(path)
    run.recipe_file.write_text("kind: sft\n")
    status = Status(run_id=run.run_id, kind="sft", state=RunState.RUNNING, host=this_host(), pid=proc.pid,
                    pid_start=process_start(proc.pid), started_at=time.time(), total_steps=4)
    run.write_status(status)
    with run.event_writer() as events:
        events.emit("status", state="running", pid=proc.pid)
    yield workspace, run, status
    proc.kill()
    proc.wait()


async def test_live_events_update_table_curves_and_log_then_a_crash_is_announced(live_run):
    workspace, run, status = live_run
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 1)
        assert run.run_id in screen.following
        with run.event_writer() as events:
            for step in (1, 2):
                events.emit("metric", step=step, split="train", values={"loss": 2.0 / step, "learning_rate": 1e-3})
            events.emit("metric", step=2, split="eval", values={"eval_loss": 1.5})
        info = screen.store.get(run.run_id)
        await wait_until(pilot, lambda: len(info.loss) == 2 and info.eval_loss, what="live metrics")
        await wait_until(pilot, lambda: str(screen.table.get_cell(run.run_id, "loss")) == "1")
        assert str(screen.table.get_cell(run.run_id, "step")) == "2/4"
        assert str(screen.table.get_cell(run.run_id, "eval")) == "1.5"
        await wait_until(pilot, lambda: any("train step 2" in line for line in screen.detail.log_pane.lines))

        with run.event_writer() as events:
            events.emit("status", state="failed", error="CUDA out of memory; lower per_device_train_batch_size")
        run.write_status(status.model_copy(update={"state": RunState.FAILED, "ended_at": time.time(),
                                                   "error": "CUDA out of memory; lower per_device_train_batch_size"}))
        await wait_until(pilot, lambda: str(screen.table.get_cell(run.run_id, "state")) == "failed")
        note = await wait_until(pilot, lambda: next((n for n in app._notifications if "failed:" in str(n.message)), None))
        assert note.severity == "error" and "CUDA out of memory" in str(note.message)
        await wait_until(pilot, lambda: run.run_id not in screen.following, what="the follow to end")

