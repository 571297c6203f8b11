"""Items 1-2 of the hardening issue: one worker per run, and a resume re-logs nothing."""

from __future__ import annotations

import signal
import time

from faults.helpers import (
    duplicates,
    kill_worker,
    lost_steps,
    tailor,
    tailor_bg,
    tick_recipe,
    wait_state,
    wait_step,
    workers_of,
)
from tailor.engine.runs import lock
from tailor.engine.runs.rundir import RunDir


def launch(workspace, **fields) -> RunDir:
    out = tailor(workspace, "run", str(tick_recipe(workspace, **fields)))
    assert out.returncode == 0, out.stderr
    return workspace.run(out.stdout.strip())


def test_concurrent_resumes_start_exactly_one_worker(tick, workspace) -> None:
    run = launch(workspace, steps=40, step_s=0.05)
    wait_step(run, 13)
    kill_worker(run)  # dies between checkpoint-10 and 15: steps 11..13 are recomputed on resume
    procs = [tailor_bg(workspace, "resume", run.run_id) for _ in range(4)]
    outs = [(p.wait(60), *p.communicate()) for p in procs]
    started = [o for o in outs if o[0] == 0]
    refused = [o for o in outs if o[0] != 0]
    assert len(started) == 1, outs
    assert "resumed (attempt 1)" in started[0][1]
    for code, _out, err in refused:
        assert code == 2 and err.count("\n") == 1, err
        assert "already resumed by pid" in err or "still queued" in err or "still running" in err, err
    time.sleep(0.5)
    assert len(workers_of(run)) <= 1
    assert wait_state(run, "succeeded") == "succeeded"
    assert duplicates(run) == {"seq": 0, "steps": 0, "out_of_order": 0}
    assert lost_steps(run, 40, 5) == []
    assert run.read_status().attempt == 1


def test_a_second_worker_refuses_while_one_holds_the_lock(tick, workspace) -> None:
    import subprocess
    import sys

    run = launch(workspace, steps=200, step_s=0.05)
    wait_step(run, 2)
    extra = subprocess.run([sys.executable, "-m", "tailor.engine.worker", str(run.path), "--resume"],
                           capture_output=True, text=True, timeout=60)
    assert extra.returncode == 3
    assert f"already running by pid {run.read_status().pid}" in extra.stderr
    assert lock.is_locked(run.path)
    again = tailor(workspace, "resume", run.run_id)  # a running run is said to be running
    assert again.returncode == 2 and f"is still running (pid {run.read_status().pid}); nothing to resume" in again.stderr
    tailor(workspace, "cancel", run.run_id, "--wait", "30")
    assert wait_state(run, "cancelled") == "cancelled"
    assert not lock.is_locked(run.path)
    assert duplicates(run)["seq"] == 0


def test_resume_racing_cancel_leaves_one_consistent_run(tick, workspace) -> None:
    run = launch(workspace, steps=30, step_s=0.05)
    wait_step(run, 7)
    kill_worker(run)
    for _ in range(3):
        procs = [tailor_bg(workspace, "resume", run.run_id), tailor_bg(workspace, "cancel", run.run_id, "--wait", "20"),
                 tailor_bg(workspace, "resume", run.run_id)]
        for p in procs:
            p.wait(60)
            p.communicate()
        final = wait_state(run, "cancelled", "succeeded", "failed", timeout=60)
        deadline = time.monotonic() + 20  # a worker exits just after writing its final status
        while workers_of(run) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers_of(run) == [], final
        d = duplicates(run)
        assert d["seq"] == 0 and d["out_of_order"] == 0 and d["steps"] == 0, d
        if final == "succeeded":
            break
    assert not lock.is_locked(run.path)


def test_resume_relogs_no_eval_or_checkpoint(tick, workspace) -> None:
    run = launch(workspace, steps=24, step_s=0.08, eval_every=3, save_every=10)
    wait_step(run, 17)  # eval 12, 15 and checkpoint-10 logged; 11..17 are recomputed after a resume
    kill_worker(run, signal.SIGKILL)
    out = tailor(workspace, "resume", run.run_id)
    assert out.returncode == 0, out.stderr
    assert wait_state(run, "succeeded") == "succeeded"
    assert duplicates(run) == {"seq": 0, "steps": 0, "out_of_order": 0}
    assert lost_steps(run, 24, 3) == []
