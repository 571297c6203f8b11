"""Cancel signals the worker's process group; names, paths and data files full of shell syntax are
harmless; secrets travel on stdin into the worker's environment, never in argv."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tailor.engine.errors import RunError
from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.runs.liveness import pid_alive
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tests.ssh.conftest import wait_for, write_recipe, write_ws_config

pytestmark = [pytest.mark.ssh]

EVIL = "x y 'q' \"d\" $(touch PWNED1) `touch PWNED2`; touch PWNED3 & | > z \\ ~"
# Glob characters in a data path mean a glob to recipes, so paths use EVIL; argv also gets "*".


def no_pwned(*roots: Path) -> None:
    for root in (*roots, Path.home(), Path.cwd()):
        assert not list(root.rglob("PWNED*")) if root != Path.home() else not list(root.glob("PWNED*"))


async def test_injection_through_run_ids_and_argv(ssh_ws, tmp_path: Path) -> None:
    ex = SSHExecutor.for_host(ssh_ws, "box")
    try:
        words = [EVIL, EVIL + " *", "$HOME", "a\nb", "--ws", "; exit 3"]
        result = await ex.conn.run(["printf", "%s\\0", *words])
        assert result.exit_status == 0
        assert result.stdout.split("\0")[:-1] == words
        with pytest.raises(RunError, match="invalid run id"):
            await ex.status("x; touch PWNED4")
        # Bypassing the client-side check: the host refuses it too.
        with pytest.raises(RunError, match="invalid run id"):
            await ex.conn.op("status", "$(touch PWNED5)")
    finally:
        await ex.close()
    no_pwned(tmp_path)


@pytest.mark.slow
async def test_cancel_with_hostile_paths(
    ssh_ws, sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / f"remote {EVIL}"
    write_ws_config(ssh_ws, sshd, workdir)
    monkeypatch.setenv("WANDB_API_KEY", "wandb_secret_456")
    recipe = write_recipe(ssh_ws, steps=200, data_name=f"data {EVIL}.jsonl", name="evil")
    ex = SSHExecutor.for_host(ssh_ws, "box")
    try:
        status = await ex.launch(recipe)
        remote = RunDir(workdir / "workspace" / "runs" / status.run_id)
        assert remote.exists()
        frozen = yaml.safe_load(remote.recipe_file.read_text())
        assert frozen["data"]["train"][0]["path"].endswith(f"/data {EVIL}.jsonl")  # kept its name
        await wait_for(lambda: any(e["type"] == "metric" for e in remote.events()))
        pid = remote.read_status().pid
        assert pid and pid_alive(pid)
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert b"WANDB_API_KEY=wandb_secret_456" in environ  # reached the worker through stdin
        assert b"wandb_secret_456" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        final = await ex.cancel(status.run_id, wait=120)
        assert final.state == RunState.CANCELLED, final
        assert remote.read_status().state == RunState.CANCELLED
        await wait_for(lambda: not pid_alive(pid), timeout=30)
        with pytest.raises(RunError, match="already cancelled"):
            await ex.cancel(status.run_id)
        # Resume over SSH: a new worker (attempt 1) continues in the same run directory.
        resumed = await ex.resume(status.run_id)
        assert resumed.attempt == 1 and resumed.state.active and resumed.host == "box"
        await wait_for(lambda: remote.read_status().pid not in (None, pid))
        again = await ex.cancel(status.run_id, wait=120)
        assert again.state == RunState.CANCELLED
        events = [e async for e in ex.follow(status.run_id)]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e.get("attempt") for e in events if e["type"] == "status" and e["state"] == "running"] == [
            0,
            1,
        ]
        for path in remote.path.rglob("*"):
            if path.is_file():
                assert b"wandb_secret_456" not in path.read_bytes()
    finally:
        await ex.close()
    no_pwned(tmp_path)
    assert os.path.isdir(workdir)
