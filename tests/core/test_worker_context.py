"""WorkerContext: what a trainer reports lands in the run directory — from rank 0 only."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tailor.engine.runs import RunDir, RunState, Status
from tailor.engine.runs.liveness import this_host
from tailor.engine.worker.context import WorkerContext


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    return RunDir.create(tmp_path / "runs", "r1", "kind: sft\n", Status(run_id="r1", kind="sft", host=this_host()))


@pytest.fixture(autouse=True)
def _restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_primary_rank_reports_and_skips_steps_logged_before_a_resume(run: RunDir, monkeypatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    ctx = WorkerContext(run)
    ctx.start()
    for step in (1, 2, 3):
        ctx.metric(step, {"loss": 1.0 / step})
    ctx.finish(RunState.FAILED, "boom")
    assert run.read_status().state == RunState.FAILED
    again = WorkerContext(run, resume=True)
    assert again.max_logged_step == 3
    again.start()
    for step in (2, 3, 4):  # steps 2-3 recomputed after the last checkpoint
        again.metric(step, {"loss": 0.1})
    again.metric(3, {"eval_loss": 0.5}, split="eval")  # eval metrics are not deduplicated
    again.finish(RunState.SUCCEEDED)
    train_steps = [e["step"] for e in run.events() if e["type"] == "metric" and e["split"] == "train"]
    assert train_steps == [1, 2, 3, 4]
    status = run.read_status()
    assert status.state == RunState.SUCCEEDED and status.latest["eval_loss"] == 0.5 and status.step == 4


def test_other_ranks_write_nothing(run: RunDir, monkeypatch) -> None:
    monkeypatch.setenv("RANK", "1")
    before = (run.status_file.read_bytes(), run.events_file.read_bytes())
    ctx = WorkerContext(run)
    ctx.start()
    ctx.metric(1, {"loss": 1.0})
    ctx.log("hello")
    ctx.finish(RunState.SUCCEEDED)
    assert (run.status_file.read_bytes(), run.events_file.read_bytes()) == before
    assert not run.heartbeat_file.exists()


def test_cancel_request_file_is_seen(run: RunDir, monkeypatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    ctx = WorkerContext(run)
    assert not ctx.cancel_requested
    run.request_cancel()
    assert ctx.cancel_requested


def test_a_stop_signal_during_an_event_write_does_not_deadlock(tmp_path: Path) -> None:
    """SIGTERM (a cancel) lands while the main thread writes events, as it does at every logging step. The
    handler used to write its own log line and waited forever on the event writer's lock that the
    interrupted write held: the run never stopped."""
    import subprocess
    import sys

    script = f"""
import os, signal, threading, time
from pathlib import Path
from tailor.engine.runs import RunDir, RunState, Status
from tailor.engine.runs.liveness import this_host
from tailor.engine.worker.context import WorkerContext
run = RunDir.create(Path({str(tmp_path / 'runs')!r}), "r1", "kind: sft\\n", Status(run_id="r1", kind="sft", host=this_host()))
ctx = WorkerContext(run)
ctx.start()
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
step = 0
while not ctx.cancel_requested:  # a trainer logging as fast as it can, checking for a cancel between writes
    step += 1
    ctx.metric(step, {{"loss": 1.0, "values": list(range(50))}})
ctx.finish(RunState.CANCELLED)
print("stopped")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "stopped", out.stderr[-2000:]
    run = RunDir(tmp_path / "runs" / "r1")
    said = [e["message"] for e in run.events() if e["type"] == "log"]
    assert said == ["received SIGTERM; stopping"] and run.read_status().state == RunState.CANCELLED
