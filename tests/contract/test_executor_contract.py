"""The executor contract (engine/executors/base.py): the same assertions for every executor in
``EXECUTORS`` (conftest.py), on real workers training the built-in tiny model for a few steps.

Runs made by the module-scoped fixtures (``finished``, ``cancelled``) serve several tests; the tests
that change them (resume, delete) come after those that only read them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tailor.engine.errors import RunError, TailorError
from tailor.engine.executors.base import Executor, FetchReport
from tailor.engine.executors.registry import executor_class
from tailor.engine.runs.events import Event
from tailor.engine.runs.status import RunState, Status

from .conftest import Site

pytestmark = pytest.mark.slow

RECIPE = "demo-sft.yaml"
# A few real steps on a handful of rows: ~70 ms a step once the worker has imported torch (~10 s).
FAST: dict[str, Any] = {
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.warmup_steps": 0,
    "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 32}],
    "data.eval": None,
}
SHORT = {**FAST, "train.max_steps": 6, "train.save_steps": 3}
# Long enough that a cancel sent at the first train step lands mid-run, short enough to resume quickly.
LONG_STEPS = 80
LONG = {**FAST, "train.max_steps": LONG_STEPS, "train.save_steps": 5}
BAD_IDS = ("../etc", "nope-123")
TIMEOUT_S = 240.0


@dataclass
class Launched:
    launched: Status
    events: list[Event]
    final: Status


def train_steps(events: list[Event]) -> list[int]:
    return [e["step"] for e in events if e["type"] == "metric" and e.get("split", "train") == "train"]


def checkpoint_steps(events: list[Event]) -> list[int]:
    return [e["step"] for e in events if e["type"] == "checkpoint"]


def assert_one_line(exc: BaseException) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text


async def wait_state(executor: Executor, run_id: str, what: Any, timeout: float = TIMEOUT_S) -> Status:
    """Poll ``executor.status`` until ``what(status)``."""
    deadline = time.monotonic() + timeout
    while True:
        status = await executor.status(run_id)
        if what(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {status.state.value} after {timeout:.0f}s: {status.error}")
        await asyncio.sleep(0.2)


async def follow_all(executor: Executor, run_id: str, after: int = 0) -> list[Event]:
    return await asyncio.wait_for(_collect(executor, run_id, after), TIMEOUT_S)


async def _collect(executor: Executor, run_id: str, after: int) -> list[Event]:
    return [e async for e in executor.follow(run_id, after)]


# -- runs shared by several tests --------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(site: Site) -> Launched:
    """A short run launched and followed to its end."""

    async def work(ex: Executor) -> Launched:
        status = await ex.launch(site.workspace.recipes_dir / RECIPE, name="contract-ok", overrides=SHORT)
        events = await follow_all(ex, status.run_id)
        return Launched(status, events, await ex.status(status.run_id))

    return site.run_sync(work)


@dataclass
class Cancelled:
    run_id: str
    at_cancel: Status
    final: Status
    events: list[Event]


@pytest.fixture(scope="module")
def cancelled(site: Site) -> Cancelled:
    """A long run cancelled as soon as it reports its first train step."""

    async def work(ex: Executor) -> Cancelled:
        status = await ex.launch(site.workspace.recipes_dir / RECIPE, name="contract-cancel", overrides=LONG)
        run_id = status.run_id

        async def first_step() -> None:
            async for event in ex.follow(run_id):
                if event["type"] == "metric":
                    return
            raise AssertionError(f"run {run_id} ended before its first step: {(await ex.status(run_id)).error}")

        await asyncio.wait_for(first_step(), TIMEOUT_S)
        at_cancel = await ex.cancel(run_id, wait=TIMEOUT_S)
        final = await ex.status(run_id)
        return Cancelled(run_id, at_cancel, final, await ex.events(run_id))

    return site.run_sync(work)


# -- launch and follow -------------------------------------------------------------------------------
async def test_launch_returns_queued_status_on_this_executors_host(executor: Executor, finished: Launched) -> None:
    launched = finished.launched
    assert launched.state.active and launched.run_id
    assert launched.via == executor.host
    assert launched.name == "contract-ok"


async def test_follow_to_succeeded_with_contiguous_seq(executor: Executor, finished: Launched) -> None:
    assert finished.final.state == RunState.SUCCEEDED, finished.final.error
    assert finished.final.via == executor.host
    seqs = [e["seq"] for e in finished.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert train_steps(finished.events) == list(range(1, 7))
    # events() returns the same events as follow(), and respects ``after``.
    run_id = finished.final.run_id
    assert await executor.events(run_id) == finished.events
    assert await executor.events(run_id, after=seqs[-3]) == finished.events[-2:]
    # following a finished run replays its events and ends.
    assert await follow_all(executor, run_id, after=seqs[-3]) == finished.events[-2:]


async def test_list_runs_shows_the_run_with_its_host(executor: Executor, finished: Launched) -> None:
    runs = {s.run_id: s for s in await executor.list_runs()}
    mine = runs[finished.final.run_id]
    assert mine.state == RunState.SUCCEEDED
    assert mine.via == executor.host
    assert all(s.via == executor.host for s in runs.values())


async def test_fetch_brings_the_adapter(executor: Executor, finished: Launched, tmp_path) -> None:
    report = await executor.fetch(finished.final.run_id)
    assert isinstance(report, FetchReport)
    assert (report.path / "adapter" / "adapter_config.json").is_file()
    assert (report.path / "adapter" / "adapter_model.safetensors").is_file()
    # into a chosen folder too
    report = await executor.fetch(finished.final.run_id, tmp_path / "copy")
    assert report.path == tmp_path / "copy"
    assert (report.path / "adapter" / "adapter_config.json").is_file()
    assert "adapter/adapter_config.json" in report.fetched + report.skipped
    assert report.bytes >= (report.path / "adapter" / "adapter_model.safetensors").stat().st_size


# -- cancel and resume -------------------------------------------------------------------------------
async def test_cancel_ends_cancelled_and_keeps_a_checkpoint(executor: Executor, cancelled: Cancelled, site: Site) -> None:
    assert cancelled.at_cancel.state == RunState.CANCELLED, cancelled.at_cancel.error
    assert cancelled.final.state == RunState.CANCELLED and cancelled.final.error is None
    assert cancelled.final.via == executor.host
    steps = train_steps(cancelled.events)
    assert steps and max(steps) < LONG_STEPS, "the cancel landed after the last step"
    saved = checkpoint_steps(cancelled.events)
    assert saved and max(saved) <= max(steps)
    # the checkpoint is kept where the run lives, and fetch brings it here
    report = await executor.fetch(cancelled.run_id)
    assert (report.path / "checkpoints" / f"checkpoint-{max(saved)}" / "trainer_state.json").is_file()
    # cancelling again is refused with a one-line message
    with pytest.raises(RunError) as err:
        await executor.cancel(cancelled.run_id)
    assert_one_line(err.value)


async def test_resume_continues_from_the_checkpoint(executor: Executor, cancelled: Cancelled) -> None:
    run_id = cancelled.run_id
    before = await executor.events(run_id)
    resumed = await executor.resume(run_id)
    assert resumed.state.active and resumed.attempt == cancelled.final.attempt + 1
    assert resumed.via == executor.host
    # an active run cannot be deleted
    with pytest.raises(RunError) as err:
        await executor.delete(run_id)
    assert_one_line(err.value)
    later = await follow_all(executor, run_id, after=before[-1]["seq"])
    final = await executor.status(run_id)
    assert final.state == RunState.SUCCEEDED, final.error
    events = await executor.events(run_id)
    assert events == before + later
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    steps = train_steps(events)
    assert len(steps) == len(set(steps)), "a train step was logged twice"
    assert sorted(steps) == list(range(1, LONG_STEPS + 1))
    saved = max(checkpoint_steps(before))
    assert min(train_steps(later)) == saved + 1, "the resumed attempt did not start after the checkpoint"
    logs = [e["message"] for e in later if e["type"] == "log"]
    assert f"resuming from checkpoints/checkpoint-{saved}" in logs
    with pytest.raises(RunError):  # a succeeded run is not resumed
        await executor.resume(run_id)


# -- refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", BAD_IDS)
async def test_a_bad_run_id_is_refused(executor: Executor, site: Site, bad: str) -> None:
    calls = {
        "status": lambda: executor.status(bad),
        "events": lambda: executor.events(bad),
        "cancel": lambda: executor.cancel(bad),
        "resume": lambda: executor.resume(bad),
        "kill": lambda: executor.kill(bad),
        "fetch": lambda: executor.fetch(bad),
        "delete": lambda: executor.delete(bad),
        "follow": lambda: _collect(executor, bad, 0),
    }
    if not executor.can_kill:
        del calls["kill"]
    for name, call in calls.items():
        with pytest.raises(TailorError) as err:
            await asyncio.wait_for(call(), 60)
        assert isinstance(err.value, RunError), (name, err.value)
        assert_one_line(err.value)
        assert bad.strip("./") in str(err.value), (name, err.value)
    # nothing was left behind for the refused id
    assert not (site.workspace.runs_dir / "nope-123").exists()
    assert all(s.run_id != bad for s in await executor.list_runs())


# -- capabilities ------------------------------------------------------------------------------------
async def test_capability_flags_are_consistent(executor: Executor, site: Site) -> None:
    assert executor_class(executor.type) is type(executor)
    assert executor.host == "local" if not executor.remote else executor.host not in ("", "local")
    assert executor.queued_timeout is None or executor.queued_timeout > 0
    info = await executor.info()
    assert info["tailor_version"] and info["workspace"]
    gpus = await executor.gpus()
    assert isinstance(gpus, list)
    if not executor.has_gpu_inventory:
        assert gpus == []
    if not executor.can_kill:
        with pytest.raises(NotImplementedError):
            await executor.kill("nope-123")
        return
    # kill: SIGKILL a live worker (killed while it is still importing: no training needed)
    status = await executor.launch(site.workspace.recipes_dir / RECIPE, name="contract-kill", overrides=LONG)
    await wait_state(executor, status.run_id, lambda s: s.state == RunState.RUNNING and s.pid)
    killed = await executor.kill(status.run_id)
    assert killed.state == RunState.CANCELLED
    await asyncio.sleep(1.0)  # a SIGKILLed worker writes nothing more
    final = await executor.status(status.run_id)
    assert final.state == RunState.CANCELLED and final.via == executor.host
    events = await executor.events(status.run_id)
    assert not train_steps(events)
    assert events[-1]["type"] == "status" and events[-1].get("state") == "cancelled"


# -- delete (last: it removes the shared runs) --------------------------------------------------------
async def test_delete_removes_a_finished_run_where_it_ran(executor: Executor, finished: Launched) -> None:
    run_id = finished.final.run_id
    where = await executor.delete(run_id)
    assert run_id in where
    assert all(s.run_id != run_id for s in await executor.list_runs())
    with pytest.raises(RunError) as err:
        await executor.status(run_id)
    assert_one_line(err.value)
    with pytest.raises(RunError):
        await executor.delete(run_id)
