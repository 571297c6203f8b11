"""The run directory contract: atomic status, strictly increasing seq, torn lines, dead workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tailor.engine.errors import RunError
from tailor.engine.fsutil import atomic_write_json
from tailor.engine.runs import EventWriter, RunDir, RunState, Status, check_run_id, new_run_id, read_events
from tailor.engine.runs.events import EventCursor, last_seq
from tailor.engine.runs.liveness import process_start, this_host


def make_run(tmp_path: Path, **status: object) -> RunDir:
    st = Status(run_id="r1", kind="sft", host=this_host(), **status)
    return RunDir.create(tmp_path / "runs", "r1", "kind: sft\n", st)


def test_create_is_private_and_complete(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    assert oct(run.path.stat().st_mode & 0o777) == "0o700"
    assert oct(run.status_file.stat().st_mode & 0o777) == "0o600"
    assert run.read_status().state == RunState.QUEUED
    assert [e["type"] for e in run.events()] == ["status"]
    with pytest.raises(RunError, match="already exists"):
        make_run(tmp_path)


def test_seq_is_strictly_increasing_across_writers_and_threads(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        threads = [threading.Thread(target=lambda: [w.emit("log", message="x") for _ in range(200)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with EventWriter(path) as w2:  # a resumed worker continues the sequence
        w2.emit("log", message="after")
    seqs = [e["seq"] for e in read_events(path)]
    assert seqs == list(range(1, 802))
    assert last_seq(path) == 801


def test_torn_last_line_is_skipped_and_sealed(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.emit("log", message="one")
    with open(path, "ab") as fh:
        fh.write(b'{"seq": 2, "time": 1, "ty')  # writer killed mid-line
    assert [e["seq"] for e in read_events(path)] == [1]
    with EventWriter(path) as w:
        assert w.seq == 1
        w.emit("log", message="two")
    assert [(e["seq"], e["message"]) for e in read_events(path)] == [(1, "one"), (2, "two")]


def test_cursor_resumes_from_any_seq_and_waits_for_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        for i in range(10):
            w.emit("metric", step=i, values={"loss": 1.0 / (i + 1)})
    assert [e["seq"] for e in read_events(path, after=7)] == [8, 9, 10]
    cursor = EventCursor(path, after=9)
    assert [e["seq"] for e in cursor.read()] == [10]
    with open(path, "ab") as fh:
        fh.write(b'{"seq": 11, "time": 1, "type": "log"')
    assert cursor.read() == []  # incomplete line: not yet
    with open(path, "ab") as fh:
        fh.write(b', "message": "late"}\n')
    assert [e["seq"] for e in cursor.read()] == [11]
    assert cursor.read() == []


def test_status_is_replaced_atomically(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads(run.status_file.read_bytes())
            except ValueError as exc:
                bad.append(str(exc))

    t = threading.Thread(target=reader)
    t.start()
    status = run.read_status()
    for step in range(300):
        status.step = step
        run.write_status(status)
    stop.set()
    t.join()
    assert bad == []
    assert run.read_status().step == 299
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]


def test_dead_local_worker_is_reported_failed(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run = make_run(tmp_path)
    status = run.read_status()
    status.state, status.pid, status.pid_start = RunState.RUNNING, proc.pid, process_start(proc.pid)
    run.write_status(status)
    assert run.effective_status().state == RunState.RUNNING
    proc.kill()
    proc.wait()
    eff = run.effective_status()
    assert eff.state == RunState.FAILED
    assert "died without reporting" in eff.error and "tailor resume r1" in eff.error


def test_reused_pid_is_not_mistaken_for_the_worker(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    status = run.read_status()
    me = os.getpid()
    status.state, status.pid, status.pid_start = RunState.RUNNING, me, (process_start(me) or 0) + 12345
    run.write_status(status)
    assert run.effective_status().state == RunState.FAILED


def test_remote_worker_without_heartbeat_is_failed(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    status = run.read_status()
    status.state, status.pid, status.host = RunState.RUNNING, 4242, "some-other-host"
    status.started_at = time.time() - 100
    run.write_status(status)
    atomic_write_json(run.heartbeat_file, {"time": time.time() - 90, "pid": 4242, "step": 3})
    eff = run.effective_status(heartbeat_timeout=30)
    assert eff.state == RunState.FAILED and "no heartbeat for" in eff.error
    run.beat(4242, 4)
    assert run.effective_status(heartbeat_timeout=30).state == RunState.RUNNING


def test_run_ids_are_safe() -> None:
    rid = new_run_id("my run; $(rm -rf /)", "sft")
    assert check_run_id(rid) == rid
    for bad in ("../x", "a/b", "", "-rf", "a b", "x;y", "..", "$(x)"):
        with pytest.raises(RunError):
            check_run_id(bad)


def test_last_checkpoint_ignores_incomplete_ones(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    for step, complete in ((5, True), (10, True), (15, False)):
        ck = run.checkpoints_dir / f"checkpoint-{step}"
        ck.mkdir()
        if complete:
            (ck / "trainer_state.json").write_text("{}")
    assert run.last_checkpoint().name == "checkpoint-10"
