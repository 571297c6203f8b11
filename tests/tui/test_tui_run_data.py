"""The Runs screen's data: folding events into RunInfo, and the coalescing follow on the engine side."""

from __future__ import annotations

import asyncio

from tui_helpers import T0, write_run

from tailor.engine.executors.local import LocalExecutor
from tailor.engine.runs.status import RunState, Status
from tailor.tui.bridge import EngineBridge, follow_batched
from tailor.tui.widgets.run_data import RunInfo, RunStore, short_name


def running_status(**kw) -> Status:
    return Status(run_id="demo-sft-20260101-000000-a1b2", kind="sft", state=RunState.RUNNING, started_at=T0,
                  total_steps=10, **kw)


def metric(seq, step, split="train", t=None, **values):
    return {"seq": seq, "time": t or T0 + seq, "type": "metric", "step": step, "split": split, "values": values}


def test_events_fold_into_curves_progress_and_log():
    info = RunInfo("demo-sft-20260101-000000-a1b2", "local", running_status())
    lines = info.apply([
        metric(1, 1, loss=2.0, learning_rate=1e-3, num_tokens=100),
        metric(2, 2, loss=1.5, learning_rate=9e-4, num_tokens=300),
        metric(3, 2, "eval", eval_loss=1.7),
        {"seq": 4, "time": T0 + 4, "type": "log", "level": "info", "message": "hello"},
    ])
    assert len(lines) == 4 and "hello" in lines[-1]
    assert info.loss == [(1, 2.0), (2, 1.5)] and info.eval_loss == [(2, 1.7)] and info.lr[-1] == (2, 9e-4)
    assert info.status.step == 2 and info.latest("eval_loss") == 1.7
    assert info.speed == "200 tok/s · 1 steps/s"
    cells = info.cells(now=T0 + 20)
    assert cells["step"] == "2/10" and cells["elapsed"] == "0:20"
    # 1 s per step plus the evaluation's 1 s spread over the 2 steps done: 8 steps x 1.5 s, 2 s ago.
    assert info.cells(now=T0 + 4)["eta"] == "0:10"
    # Replayed events (seq already seen) are ignored.
    assert info.apply([metric(2, 2, loss=9.0)]) == [] and info.loss[-1] == (2, 1.5)


def test_eta_leaves_out_start_up_and_spreads_evaluations():
    """Issue 25: a minute of start-up, 1 s steps, a 2 s evaluation at step 5: at step 10 of 20 the ETA is
    10 x (1 + 2/10) = 12 s (elapsed / step said 72 s); a resume's new start-up is left out too."""
    info = RunInfo("r-eta", "local", running_status().model_copy(update={"total_steps": 20}))
    start = [{"seq": 1, "time": T0, "type": "status", "state": "running"}]
    steps = [metric(i + 1, i, t=T0 + 60 + i + (2 if i > 5 else 0), loss=1.0) for i in range(1, 11)]
    steps.insert(5, metric(20, 5, "eval", t=T0 + 67, eval_loss=1.0))
    info.apply(start + [{**e, "seq": n} for n, e in enumerate(steps, start=2)])
    assert info.status.step == 10 and info.eta(now=T0 + 72) == 12.0
    resumed = [{"seq": 20, "time": T0 + 500, "type": "status", "state": "running"},
               metric(21, 11, t=T0 + 560, loss=1.0), metric(22, 12, t=T0 + 561, loss=1.0)]
    info.apply(resumed)
    assert info.eta(now=T0 + 561) == 8 * (1 + 2 / 12)


def test_trainer_reported_speed_wins_and_status_events_move_state():
    info = RunInfo("r-1", "local", running_status())
    info.apply([metric(1, 1, loss=1.0, samples_per_second=12.5)])
    assert info.speed == "12.5 samples/s"
    info.apply([{"seq": 2, "time": T0 + 9, "type": "status", "state": "failed", "error": "boom"}])
    assert info.state == RunState.FAILED and info.status.error == "boom" and info.status.ended_at == T0 + 9
    assert info.cells()["eta"] == "-"


def test_history_does_not_override_the_listed_state():
    # A worker killed without a final event: the listing says failed, the history ends "running".
    info = RunInfo("r-2", "local", running_status().model_copy(update={"state": RunState.FAILED}))
    info.apply([{"seq": 1, "time": T0, "type": "status", "state": "running"}], live=False)
    assert info.state == RunState.FAILED


def test_resume_relogs_replace_points():
    info = RunInfo("r-3", "local", running_status())
    info.apply([metric(1, 1, loss=3.0), metric(2, 2, loss=2.0), metric(3, 3, loss=1.0)])
    info.apply([metric(4, 2, loss=2.1), metric(5, 3, loss=1.1)])  # re-logged after a resume from step 1
    assert info.loss == [(1, 3.0), (2, 2.1), (3, 1.1)]


def test_store_listing_adds_orders_and_removes():
    store = RunStore(log_max_lines=3)
    late = Status(run_id="b-20260102-000000-0001", kind="sft", created_at=T0 + 99)
    early = Status(run_id="a-20260101-000000-0002", kind="sft", created_at=T0 + 500)  # resumed: newer created_at
    merged = store.merge_listing([late, early], {late.run_id: "gpu1"})
    assert set(merged.added) == {late.run_id, early.run_id} and not merged.removed
    assert [i.run_id for i in store.ordered()] == [early.run_id, late.run_id]  # by launch time in the id
    assert store.get(early.run_id).log.maxlen == 3
    assert store.get(late.run_id).host == "gpu1" and store.get(early.run_id).host == "local"
    merged = store.merge_listing([late])
    assert merged.removed == [early.run_id] and not merged.added and not merged.changed  # the same object
    moved = late.model_copy(update={"state": RunState.RUNNING})
    merged = store.merge_listing([moved])
    assert merged.changed == {late.run_id: RunState.QUEUED} and merged.moved(store)
    assert short_name(late.run_id) == "b-0001" and short_name("plain") == "plain"


def test_follow_batched_coalesces_on_the_engine_thread(workspace):
    run = write_run(workspace, "demo-sft-20260101-000000-a1b2", steps=30)
    total = len(run.events())
    bridge = EngineBridge()
    batches: list[list[dict]] = []
    try:
        asyncio.run(_follow(bridge, LocalExecutor(workspace), run.run_id, batches))
    finally:
        bridge.close()
    assert sum(len(b) for b in batches) == total
    assert len(batches) <= 3  # a finished run's history arrives in one or two batches, not event by event
    seqs = [e["seq"] for b in batches for e in b]
    assert seqs == sorted(seqs) and len(set(seqs)) == total


async def _follow(bridge, executor, run_id, batches):
    await bridge.run(follow_batched(executor, run_id, 0, batches.append, interval=0.1))
