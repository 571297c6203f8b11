"""A real tiny SFT run over SSH (the demo recipe): launch, follow, mirror = remote, fetch, clean."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tailor.engine.executors.factory import executor_for_run
from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.tui.cli import cli

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

OVERRIDES = {
    "train.max_steps": 6,
    "train.logging_steps": 2,
    "train.eval_steps": 6,
    "train.save_steps": 3,
    "train.per_device_train_batch_size": 8,
}


async def test_real_sft_run_over_ssh(ssh_ws, remote_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    recipe = ssh_ws.recipes_dir / "demo-sft.yaml"
    ex = SSHExecutor.for_host(ssh_ws, "box")
    try:
        status = await ex.launch(recipe, overrides=OVERRIDES)
        assert status.host == "box" and status.state.active
        events = [e async for e in ex.follow(status.run_id)]
        final = await ex.status(status.run_id)
        assert final.state == RunState.SUCCEEDED, final.error
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1))
        assert any(e["type"] == "metric" and e["split"] == "eval" for e in events)
        remote_run = RunDir(remote_dir / "workspace" / "runs" / status.run_id)
        assert remote_run.events() == events  # the mirror holds exactly the remote events
        mirror = RunDir(ssh_ws.runs_dir / status.run_id)
        assert mirror.events() == events
        assert mirror.read_status().state == RunState.SUCCEEDED
        assert mirror.read_status().host == "box"
        assert stat.S_IMODE(os.stat(remote_run.path).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(remote_dir / "workspace").st_mode) == 0o700
        # The data went through the content store, with the frozen recipe pointing at it.
        assert "/workspace/store/" in remote_run.recipe_file.read_text()
        assert str(ssh_ws.data_dir) in mirror.recipe_file.read_text()
        # The local run table sees the remote run as it is, and routes it to its host.
        assert isinstance(executor_for_run(ssh_ws, status.run_id), SSHExecutor)
        # Secrets never reach files on either side.
        for path in list(remote_run.path.rglob("*")) + list(mirror.path.rglob("*")):
            if path.is_file():
                assert b"hf_secret_value_123" not in path.read_bytes(), path
    finally:
        await ex.close()

    # Fetch: adapter, checkpoints, eval results, verified by hash; a second fetch skips everything.
    runner = CliRunner()
    out = await asyncio.to_thread(
        runner.invoke, cli, ["-w", str(ssh_ws.root), "hosts", "fetch", status.run_id]
    )
    assert out.exit_code == 0, out.output
    assert (mirror.path / "adapter").is_dir() and any((mirror.path / "adapter").iterdir())
    assert (mirror.path / "checkpoints" / "checkpoint-6").is_dir()
    for f in (remote_run.path / "adapter").iterdir():
        assert (mirror.path / "adapter" / f.name).read_bytes() == f.read_bytes()
    # Resumable: a half-downloaded file continues from its .part.
    target = next(p for p in (mirror.path / "adapter").iterdir() if p.stat().st_size > 100)
    data = target.read_bytes()
    target.unlink()
    Path(str(target) + ".part").write_bytes(data[: len(data) // 2])
    out = await asyncio.to_thread(
        runner.invoke, cli, ["-w", str(ssh_ws.root), "hosts", "fetch", status.run_id]
    )
    assert out.exit_code == 0, out.output
    assert target.read_bytes() == data
    assert "1 files fetched" in out.output

    # Deleting the remote directory is explicit and confirmed.
    out = await asyncio.to_thread(
        runner.invoke, cli, ["-w", str(ssh_ws.root), "hosts", "clean", status.run_id], input="n\n"
    )
    assert out.exit_code != 0 and remote_run.path.exists()
    out = await asyncio.to_thread(
        runner.invoke, cli, ["-w", str(ssh_ws.root), "hosts", "clean", status.run_id, "--yes"]
    )
    assert out.exit_code == 0, out.output
    assert not remote_run.path.exists()
    assert json.loads((mirror.path / "remote.json").read_text())["deleted"] is True
    assert (mirror.path / "adapter").is_dir()  # the local copy stays
