"""Slurm-specific behaviour on the real test cluster, through the real SSH server: sbatch settings, a job
pending for resources (queued, never failed), cancel of a pending job (scancel), a time-limit kill (failed
with Slurm's reason), resume resubmitting, and an scancel from outside Tailor."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from slurm.cluster import NODE_CPUS, LocalSlurm
from slurm.conftest import write_slurm_config
from tailor.engine.executors.base import Executor
from tailor.engine.executors.factory import executor_for
from tailor.engine.executors.slurm import SlurmExecutor
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status
from tailor.tui.cli import cli

pytestmark = [pytest.mark.ssh, pytest.mark.slurm, pytest.mark.slow]

FAST = {
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.warmup_steps": 0,
    "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 32}],
    "data.eval": None,
}


async def wait_state(ex: Executor, run_id: str, what, timeout: float = 240.0) -> Status:
    deadline = time.monotonic() + timeout
    while True:
        status = await ex.status(run_id)
        if what(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {status.state.value}: {status.error}")
        await asyncio.sleep(0.5)


async def wait_job_state(cluster: LocalSlurm, job: str, state: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (now := cluster.command("squeue", "-h", "-j", job, "-o", "%T").strip()) != state:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job} still {now or 'gone'}, not {state}")
        await asyncio.sleep(0.5)


def remote_run(tmp_path: Path, run_id: str) -> RunDir:
    return RunDir(tmp_path / "remote" / "workspace" / "runs" / run_id)


def job_of(run: RunDir) -> str:
    return json.loads((run.path / "slurm.json").read_text())["job"]


async def test_pending_job_stays_queued_with_slurms_reason(
    workspace, sshd, slurm_cluster: LocalSlurm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_slurm_secret_42")
    write_slurm_config(workspace, sshd, slurm_cluster, tmp_path / "remote", partition="debug", time="15",
                       sbatch=["--comment=tailor-test"])
    ex = executor_for(workspace, "box")
    assert isinstance(ex, SlurmExecutor) and ex.queued_timeout is None
    # Every CPU of the node taken: the next jobs wait for resources.
    blocker = slurm_cluster.command(
        "sbatch", "--parsable", f"--cpus-per-task={NODE_CPUS}", "--output=/dev/null", "--wrap", "sleep 600"
    ).strip()
    recipe = workspace.recipes_dir / "demo-sft.yaml"
    try:
        # Running, not pending: a job queued behind a *pending* blocker waits with reason "Priority".
        await wait_job_state(slurm_cluster, blocker, "RUNNING")
        a = await ex.launch(recipe, name="pending", overrides={**FAST, "train.max_steps": 3})
        b = await ex.launch(recipe, name="pending-cancel", overrides={**FAST, "train.max_steps": 3})
        run_a = remote_run(tmp_path, a.run_id)
        job = job_of(run_a)
        script = (run_a.path / "slurm.sh").read_text()
        for line in ("#SBATCH --partition=debug", "#SBATCH --time=15", "#SBATCH --comment=tailor-test"):
            assert line in script
        shown = slurm_cluster.command("scontrol", "show", "job", job)
        assert "Partition=debug" in shown and "TimeLimit=00:15:00" in shown
        status = await wait_state(ex, a.run_id, lambda s: getattr(s, "scheduler", None))
        assert status.state == RunState.QUEUED
        assert status.scheduler == "PENDING: Resources"
        # An hour in the queue is still queued (a local worker would count as lost after 2 minutes).
        raw = json.loads(run_a.status_file.read_text())
        raw["created_at"] -= 3600
        run_a.status_file.write_text(json.dumps(raw))
        assert (await ex.status(a.run_id)).state == RunState.QUEUED
        # The mirror here shows the same, for the Runs screen and `tailor runs`.
        mirror = RunDir(workspace.runs_dir / a.run_id).read_status()
        assert mirror.state == RunState.QUEUED and mirror.scheduler == "PENDING: Resources"
        listed = await asyncio.to_thread(CliRunner().invoke, cli, ["-w", str(workspace.root), "runs", "--json"])
        assert any(json.loads(line).get("scheduler") == "PENDING: Resources" for line in listed.output.splitlines())
        # Cancelling a pending run removes its job (scancel) and ends it cancelled.
        cancelled = await ex.cancel(b.run_id, wait=30)
        assert cancelled.state == RunState.CANCELLED and cancelled.error is None
        assert "JobState=CANCELLED" in slurm_cluster.command("scontrol", "show", "job", job_of(remote_run(tmp_path, b.run_id)))
        # Resources free: the pending run starts and finishes.
        slurm_cluster.command("scancel", blocker)
        events = [e async for e in ex.follow(a.run_id)]
        final = await ex.status(a.run_id)
        assert final.state == RunState.SUCCEEDED, final.error
        assert any(e["type"] == "log" and e["message"] == f"submitted Slurm job {job}" for e in events)
        assert await asyncio.to_thread(slurm_cluster.final_state, job) == "COMPLETED"
        # The secret reached the job through sbatch's environment, never a file of the run.
        for path in list(run_a.path.rglob("*")) + list(RunDir(workspace.runs_dir / a.run_id).path.rglob("*")):
            if path.is_file():
                assert b"hf_slurm_secret_42" not in path.read_bytes(), path
    finally:
        slurm_cluster.cancel(blocker)
        await ex.close()


async def test_time_limit_kill_fails_with_slurms_reason_and_resume_resubmits(
    workspace, sshd, slurm_cluster: LocalSlurm, tmp_path: Path
) -> None:
    write_slurm_config(workspace, sshd, slurm_cluster, tmp_path / "remote", time="1")  # one minute
    ex = executor_for(workspace, "box")
    recipe = workspace.recipes_dir / "demo-sft.yaml"
    try:
        launched = await ex.launch(recipe, name="timelimit",
                                   overrides={**FAST, "train.max_steps": 100000, "train.save_steps": 20})
        run = remote_run(tmp_path, launched.run_id)
        first_job = job_of(run)
        assert "TimeLimit=00:01:00" in slurm_cluster.command("scontrol", "show", "job", first_job)  # time: "1"
        # Slurm's limits are whole minutes and it checks them every 30 s: a one-minute job would train a core
        # flat out for up to 90 s. Once a checkpoint exists the limit is cut to 0, as an admin may: Slurm ends
        # the job for its time limit (TIMEOUT, not a cancel) at its next check, after the same SIGTERM.
        await wait_state(ex, launched.run_id, lambda s: run.last_checkpoint() is not None or s.state.terminal)
        slurm_cluster.command("scontrol", "update", f"JobId={first_job}", "TimeLimit=0")
        failed = await wait_state(ex, launched.run_id, lambda s: s.state.terminal, timeout=200)
        assert failed.state == RunState.FAILED
        assert failed.error and f"Slurm ended job {first_job}: TIMEOUT" in failed.error
        assert "\n" not in failed.error
        assert run.last_checkpoint() is not None
        # resume = a new sbatch from the last checkpoint
        resumed = await ex.resume(launched.run_id)
        assert resumed.state.active and resumed.attempt == failed.attempt + 1
        second_job = job_of(run)
        assert second_job != first_job
        await wait_state(ex, launched.run_id, lambda s: s.state == RunState.RUNNING and s.step > failed.step)
        events = await ex.events(launched.run_id)
        assert any(e["type"] == "log" and e["message"].startswith("resuming from checkpoints/") for e in events)
        # An scancel from outside Tailor is Slurm's doing too: failed, with the reason.
        slurm_cluster.command("scancel", second_job)
        final = await wait_state(ex, launched.run_id, lambda s: s.state.terminal, timeout=60)
        assert final.state == RunState.FAILED
        assert f"Slurm ended job {second_job}: CANCELLED" in (final.error or "")
    finally:
        await ex.close()
