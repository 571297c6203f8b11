"""Issue 26: a workspace of hundreds of runs (searches make thousands) lists fast, the table holds a
window of rows, and a re-scan reads no finished run's status again (bench/workspace_scale.py has the
10,000-run figures)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest
from tui_helpers import make_app, wait_runs_loaded, wait_until

from tailor.engine.control import Control
from tailor.engine.runs import index as run_index
from tailor.engine.runs.liveness import process_start, this_host
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status
from tailor.tui.screens.runs import WINDOW

T0 = 1_767_225_600.0
RUNS = 300


def many_runs(workspace, count: int = RUNS) -> list[str]:
    """``count`` finished runs written straight to disk (a status, a recipe, two events each) and one live
    run that this test process stands in for; returns the ids, oldest first (the live run last)."""
    ids = []
    for i in range(count + 1):
        rid = f"sweep-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(T0 + 60 * i))}-{i:04x}"
        path = workspace.runs_dir / rid
        path.mkdir(parents=True)
        (path / "recipe.yaml").write_text(f"kind: sft\nname: sweep\nmethod: lora\nlora: {{r: {8 << i % 3}}}\n"
                                          f"train: {{learning_rate: 0.000{i % 9 + 1}}}\n")
        live = i == count
        pid = os.getpid()
        status = Status(run_id=rid, kind="sft", state=RunState.RUNNING if live else RunState.SUCCEEDED,
                        created_at=T0 + 60 * i, started_at=T0 + 60 * i, ended_at=None if live else T0 + 60 * i + 30,
                        step=30, total_steps=30, latest={"loss": 1.0},
                        **({"pid": pid, "pid_start": process_start(pid), "host": this_host()} if live else {}))
        (path / "status.json").write_text(status.model_dump_json())
        events = [{"seq": 1, "time": T0 + 60 * i, "type": "status", "state": "running"},
                  {"seq": 2, "time": T0 + 60 * i + 30, "type": "metric", "step": 30, "split": "train",
                   "values": {"loss": 1.0}}]
        (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        if live:
            RunDir(path).beat(pid, 30)
        os.utime(path / "status.json", (T0 + 60 * i + 30, T0 + 60 * i + 30))  # finished long ago, as they are
        ids.append(rid)
    os.utime(workspace.runs_dir, (T0, T0))
    return ids


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Status files parsed, by run id (RunDir.listed_status is what every listing reads them with)."""
    counted: Counter = Counter()
    real = RunDir.listed_status

    def listed_status(self: RunDir) -> Status:
        counted[self.run_id] += 1
        return real(self)

    monkeypatch.setattr(RunDir, "listed_status", listed_status)
    return counted


def test_listings_read_finished_runs_once(workspace, reads, monkeypatch):
    ids = many_runs(workspace, 40)
    *finished, live = ids
    control = Control(workspace)
    for _ in range(3):
        listed = control.list_runs()
    assert [s.run_id for s in listed] == ids and listed[-1].state == RunState.RUNNING
    assert all(reads[rid] == 1 for rid in finished) and reads[live] == 3
    # A resume rewrites a finished run's status and touches the runs folder: the next listing reads it.
    failed = RunDir(workspace.runs_dir / finished[5])
    failed.write_status(failed.read_status().model_copy(update={"state": RunState.FAILED}))
    failed.requeue()
    reads.clear()
    assert {s.run_id: s.state for s in control.list_runs()}[finished[5]] == RunState.QUEUED
    assert reads == {finished[5]: 1, live: 1}
    # Any other writer is found by the periodic sweep (stat only: unchanged files are not read).
    other = RunDir(workspace.runs_dir / finished[7])
    other.write_status(other.read_status().model_copy(update={"latest": {"loss": 0.5}}))
    reads.clear()
    monkeypatch.setattr(run_index, "SWEEP_S", 0.0)
    assert {s.run_id: s.latest for s in control.list_runs()}[finished[7]] == {"loss": 0.5}
    assert reads == {finished[7]: 1, finished[5]: 1, live: 1}  # the resumed run is queued: active


async def test_hundreds_of_runs_load_fast_and_rescans_read_only_the_live_one(workspace, reads):
    ids = many_runs(workspace)
    app = make_app(workspace, rescan_s=0.2)
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_runs_loaded(pilot, WINDOW, timeout=20)
        loaded = time.perf_counter() - start
        print(f"{RUNS + 1} runs listed, {WINDOW} rows shown with their settings: {loaded:.2f} s")
        scans = screen.scans
        await wait_until(pilot, lambda: screen.scans >= scans + 5, what="five more listings")
        assert max(reads[rid] for rid in ids[:-1]) == 1 and reads[ids[-1]] > 5
        # The window: 200 rows, their settings read (no other run's recipe); G and g slide it.
        table = screen.table
        assert table.row_count == WINDOW and table.selected_run == ids[0]
        assert sum(info.settings_read for info in screen.store.runs.values()) == WINDOW
        assert screen.store.get(ids[1]).settings.r == "16" and screen.store.get(ids[1]).settings.lr == "0.0002"
        await pilot.press("G")
        await wait_until(pilot, lambda: table.selected_run == ids[-1] and not screen.settings_pending)
        assert screen.store.get(ids[-1]).settings_read and table.row_count == WINDOW
        await pilot.press("g")
        await wait_until(pilot, lambda: table.selected_run == ids[0], what="back at the first run")
        table.move_cursor(row=WINDOW - 2)
        await pilot.press("j", "j")  # the cursor walks past the window's edge: it slides on
        await wait_until(pilot, lambda: table.selected_run == ids[WINDOW], what="the row past the first window")
        assert table.row_count == WINDOW and table.get_row_index(ids[WINDOW]) == WINDOW // 2
    assert loaded < 10, loaded  # a shared 2-core machine; ~1 s when it is quiet


def test_a_new_process_lists_finished_runs_from_the_on_disk_index(workspace, reads, monkeypatch):
    ids = many_runs(workspace, 2000)
    *finished, live = ids
    (workspace.runs_dir / finished[1] / "remote.json").write_text('{"host": "box"}')  # a finished remote run's mirror
    first = Control(workspace).list_runs()  # no index yet: every status file is read, then the index written
    assert len(reads) == len(ids) and (workspace.root / run_index.INDEX_NAME).exists()
    # A new process (`tailor runs`, the TUI starting) reads no finished run's status file, and lists the same.
    reads.clear()
    again = Control(workspace).list_runs()
    assert reads == {live: 1}
    assert [(s.model_dump(), s.via) for s in again[:-1]] == [(s.model_dump(), s.via) for s in first[:-1]]
    assert again[1].via == "box" and again[2].via == "local"
    # A long-lived listing (the TUI's) then neither reads nor stats a finished run while nothing moves.
    control = Control(workspace)
    control.list_runs()
    stats: Counter = Counter()
    real_stat = os.stat

    def counting_stat(path, *args, **kwargs):
        stats[os.path.basename(os.path.dirname(os.fspath(path)))] += 1
        return real_stat(path, *args, **kwargs)

    reads.clear()
    monkeypatch.setattr(os, "stat", counting_stat)
    control.list_runs()
    monkeypatch.setattr(os, "stat", real_stat)
    assert reads == {live: 1} and not set(stats) & set(finished)
    # A finished run's status rewritten (by anyone): its file's identity moved, so it alone is read again.
    changed = RunDir(workspace.runs_dir / finished[9])
    changed.write_status(changed.read_status().model_copy(update={"latest": {"loss": 0.25}}))
    os.utime(changed.status_file, ns=(time.time_ns() - 5 * run_index.RACY_NS,) * 2)
    import shutil

    shutil.rmtree(workspace.runs_dir / finished[3])  # and a deleted run is gone from the listing
    reads.clear()
    listed = {s.run_id: s for s in Control(workspace).list_runs()}
    assert reads == {finished[9]: 1, live: 1}
    assert listed[finished[9]].latest == {"loss": 0.25} and finished[3] not in listed and len(listed) == len(ids) - 1
    # A damaged index is only a slower listing: the status files are read and the index written anew.
    (workspace.root / run_index.INDEX_NAME).write_text('{"version": 1, "runs": [["x"')
    reads.clear()
    assert len(Control(workspace).list_runs()) == len(ids) - 1 and len(reads) == len(ids) - 1
    reads.clear()
    Control(workspace).list_runs()
    assert reads == {live: 1}
