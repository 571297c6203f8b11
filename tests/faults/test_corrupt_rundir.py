"""Items 3-5, 7 and 14: malformed events, a corrupt status.json, a hung worker, ELAPSED, terminal safety."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from faults.helpers import kill_worker, tailor, tick_recipe, wait_state, wait_step
from tailor.engine.errors import RunError
from tailor.engine.runs import EventWriter, RunDir, Status, check_run_id
from tailor.engine.runs.events import EventCursor, read_events
from tailor.engine.runs.liveness import this_host

BAD_EVENTS = [
    {"seq": 2, "time": 1, "type": "metric", "step": 1, "split": "train", "values": {"loss": "abc"}},
    {"seq": 3, "time": 1, "type": "metric", "step": "x", "split": "train", "values": {"loss": 1}},
    {"seq": 4, "time": 1, "type": "metric", "step": 1, "values": {"loss": [1, 2]}},
    {"seq": 5, "time": 1, "type": "metric", "step": 1, "values": {"loss": 10**400}},
    {"seq": 6, "time": 1, "type": "metric", "step": 1, "values": {"loss": True}},
    {"seq": 7, "time": 1, "type": "checkpoint", "step": None, "path": "x"},
    {"seq": "8", "time": 1, "type": "log", "message": "x"},
    {"seq": 9, "time": 1, "type": "log", "message": {"nested": 1}},
    [1, 2, 3],
    "just a string",
]
GOOD_ODD = [  # odd but valid: kept, and printed without a crash
    '{"seq": 20, "time": 1, "type": "metric", "step": 2, "values": {"loss": NaN, "eval_loss": Infinity}}',
    '{"seq": 21, "time": 1, "type": "metric", "step": 3, "values": {"loss": 1e308, "\\u001b]0;pwned\\u0007x": 1}}',
    '{"seq": 22, "time": 1, "type": "mystery", "payload": {"a": 1}}',
    '{"seq": 23, "time": 1, "type": "log", "level": "info", "message": "\\u001b]52;c;ZXZpbA==\\u0007 osc"}',
]


def make_run(workspace) -> RunDir:
    st = Status(run_id="r-1", kind="sft", host=this_host(), name="r")
    return RunDir.create(workspace.runs_dir, "r-1", "kind: sft\nname: r\n", st)


def test_malformed_events_are_skipped_and_counted_never_crash_a_reader(workspace) -> None:
    run = make_run(workspace)
    with open(run.events_file, "a") as fh:
        for event in BAD_EVENTS:
            fh.write(json.dumps(event) + "\n")
        fh.write("[" * 100000 + "\n")  # nested too deep for json
        fh.write(json.dumps({"seq": 10, "time": 1, "type": "log", "message": "m" * 10_000_000}) + "\n")
        for line in GOOD_ODD:
            fh.write(line + "\n")
    cursor = EventCursor(run.events_file)
    events = []
    while batch := cursor.read(max_bytes=4 * 1024 * 1024):
        events += batch
    while batch := cursor.read(max_bytes=4 * 1024 * 1024):
        events += batch
    assert [e["seq"] for e in read_events(run.events_file)] == [1, 20, 21, 22, 23]
    assert cursor.skipped == len(BAD_EVENTS) + 2
    out = tailor(workspace, "logs", "r-1")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert "\\x1b]52;c;ZXZpbA==\\x07 osc" in out.stdout
    assert "loss=nan" in out.stdout
    # said once, on stderr (stdout stays events only), by every reader of the file
    note = "12 damaged event lines skipped (line 2, 3, 4, 5, 6, …)"
    assert out.stderr.count("damaged") == 1 and note in out.stderr
    listed = [json.loads(x) for x in tailor(workspace, "runs", "--json").stdout.splitlines()]
    assert [s.get("damaged_events") for s in listed] == [note]


def test_damaged_lines_counts_a_cut_last_line_only_once_the_run_ended(tmp_path) -> None:
    from tailor.engine.runs.damage import DamageCache, damaged_lines

    path = tmp_path / "events.jsonl"
    path.write_text('{"seq": 1, "time": 1, "type": "log", "message": "a"}\nnot json\n\n{"seq": 2, "time": 1, "ty')
    assert damaged_lines(path) == [2]  # a live run may still be writing its last line
    assert damaged_lines(path, complete=True) == [2, 4]
    assert damaged_lines(tmp_path / "missing.jsonl") == []
    cache = DamageCache(tmp_path / "cache.json")
    assert cache.lines(path, complete=True) == [2, 4]
    cache.save()
    path.write_text("garbage\n")  # another size: read again, not the cached verdict
    assert DamageCache(tmp_path / "cache.json").lines(path, complete=True) == [1]


def test_a_10mb_log_message_is_cut_for_readers(workspace) -> None:
    run = make_run(workspace)
    with EventWriter(run.events_file) as w:
        w.emit("log", level="info", message="m" * 10_000_000)
        w.emit("log", level="info", message="after")
    events = read_events(run.events_file)
    assert len(events[1]["message"]) < 20_000 and events[2]["message"] == "after"


def test_resumed_worker_survives_a_malformed_step_in_its_events(tick, workspace) -> None:
    out = tailor(workspace, "run", str(tick_recipe(workspace, steps=30, step_s=0.05)))
    run = workspace.run(out.stdout.strip())
    wait_step(run, 6)
    kill_worker(run)
    with open(run.events_file, "a") as fh:
        fh.write(json.dumps({"seq": 10_000, "time": 1, "type": "metric", "split": "train", "step": "abc",
                             "values": {"loss": 1}}) + "\n")
    assert tailor(workspace, "resume", run.run_id).returncode == 0
    assert wait_state(run, "succeeded", "failed") == "succeeded"


def test_a_corrupt_status_is_listed_and_repaired(tick, workspace) -> None:
    out = tailor(workspace, "run", str(tick_recipe(workspace, steps=12, step_s=0.02)), "-s", "eval_every=4")
    run = workspace.run(out.stdout.strip())
    wait_state(run, "succeeded")
    before = run.read_status()
    run.status_file.write_text("{garbage")
    listed = tailor(workspace, "runs")
    assert listed.returncode == 0 and run.run_id in listed.stdout and "corrupt" in listed.stdout
    assert "--repair" in listed.stdout
    as_json = [json.loads(x) for x in tailor(workspace, "runs", "--json").stdout.splitlines()]
    assert [s["state"] for s in as_json if s["run_id"] == run.run_id] == ["corrupt"]
    fixed = tailor(workspace, "runs", "--repair", run.run_id)
    assert fixed.returncode == 0, fixed.stderr
    assert "succeeded, step 12" in fixed.stdout
    status = run.read_status()
    assert status.state.value == "succeeded" and status.kind == "tick" and status.latest["loss"] == pytest.approx(1 / 12)
    # everything the run directory still holds: total steps, the recipe and override links
    assert status.total_steps == before.total_steps == 12
    assert status.links == {**before.links, "repaired": True} and status.links["overrides"] == {"eval_every": 4}


def test_permission_errors_say_permission_denied_and_the_fix(tmp_path) -> None:
    from tailor.engine.data.compressed import bad_stream
    from tailor.engine.errors import one_line

    path = tmp_path / "train.jsonl.gz"  # as root a mode-000 file stays readable: the error itself is fed in
    denied = PermissionError(13, "Permission denied", str(path))
    for text in (str(bad_stream(path, denied)), one_line(denied)):
        assert text.startswith(f"permission denied: {path}; ") and f"chmod u+rw {path}" in text, text
        assert "compressed" not in text and "Errno" not in text


def test_resume_rebuilds_a_corrupt_status_of_a_killed_run(tick, workspace) -> None:
    out = tailor(workspace, "run", str(tick_recipe(workspace, steps=30, step_s=0.05)))
    run = workspace.run(out.stdout.strip())
    wait_step(run, 8)
    kill_worker(run)
    run.status_file.write_bytes(b"\x00\xff" * 10)
    assert tailor(workspace, "resume", run.run_id).returncode == 0
    assert wait_state(run, "succeeded") == "succeeded"
    assert run.read_status().attempt == 1


def test_a_stopped_worker_shows_stalled_then_running_again(tick, workspace) -> None:
    config = workspace.root / "config.toml"
    config.write_text("heartbeat_timeout_s = 3\n")
    env = {"TAILOR_CONFIG": str(config)}
    out = tailor(workspace, "run", str(tick_recipe(workspace, steps=300, step_s=0.05)), env=env)
    run = workspace.run(out.stdout.strip())
    wait_step(run, 3)
    pid = run.read_status().pid
    assert pid
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(5)
        listed = tailor(workspace, "runs", env=env)
        assert "stalled (no heartbeat for" in listed.stdout, listed.stdout
        assert "running" not in listed.stdout
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(3)
    listed = tailor(workspace, "runs", env=env)
    assert "running" in listed.stdout and "stalled" not in listed.stdout, listed.stdout
    tailor(workspace, "cancel", run.run_id, "--wait", "30")


def test_elapsed_stops_for_a_dead_run(tick, workspace) -> None:
    out = tailor(workspace, "run", str(tick_recipe(workspace, steps=300, step_s=0.05)))
    run = workspace.run(out.stdout.strip())
    wait_step(run, 3)
    kill_worker(run)
    first = run.effective_status()
    assert first.state.value == "failed" and first.ended_at is not None
    time.sleep(1.2)
    assert run.effective_status().elapsed == pytest.approx(first.elapsed, abs=0.01)


def test_run_ids_match_in_full() -> None:
    for bad in ("abc\n", "a/b", "..x", "-x", "a" * 129, "a\x1b"):
        with pytest.raises(RunError):
            check_run_id(bad)
    assert check_run_id("demo-sft-20250101-000000-ab12") == "demo-sft-20250101-000000-ab12"


def test_the_runs_screen_data_skips_malformed_events_and_shows_stalled() -> None:
    from tailor.tui.widgets.run_data import RunInfo

    status = Status(run_id="r-1", kind="sft", state="running", started_at=time.time() - 60, step=5, total_steps=10)
    info = RunInfo("r-1", "local", status)
    lines = info.apply([e for e in BAD_EVENTS if isinstance(e, dict)] + [json.loads(x) for x in GOOD_ODD])
    assert len(lines) == 4 and all("\x1b" not in line for line in lines)
    stalled = RunInfo("r-1", "local", status.model_copy(update={"stalled_s": 110.0}))
    cells = stalled.cells()
    assert cells["state"] == "stalled (no heartbeat for 1m50s)" and cells["eta"] == "-"
