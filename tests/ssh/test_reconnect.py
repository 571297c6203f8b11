"""Kill the SSH connection mid-run: the run goes on, the client reconnects and resumes from the last
seq it holds (nothing lost, nothing twice); a new client (a reopened TUI) reattaches from the mirror."""

from __future__ import annotations

import pytest

from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tests.ssh.conftest import write_recipe

pytestmark = [pytest.mark.ssh, pytest.mark.slow]


async def test_disconnect_and_reattach(ssh_ws, sshd, remote_dir) -> None:
    recipe = write_recipe(ssh_ws, steps=14)
    ex = SSHExecutor.for_host(ssh_ws, "box")
    seen: list[dict] = []
    kills = 0
    try:
        status = await ex.launch(recipe)
        run_id = status.run_id
        async for event in ex.follow(run_id):
            seen.append(event)
            metrics = sum(e["type"] == "metric" for e in seen)
            if (metrics == 2 and kills == 0) or (metrics == 5 and kills == 1):
                assert sshd.kill_sessions() > 0  # every connection dropped, as by a network failure
                kills += 1
            if metrics == 8:
                break  # "close the TUI" mid-run
    finally:
        await ex.close()
    assert kills == 2
    remote = RunDir(remote_dir / "workspace" / "runs" / run_id)
    assert remote.read_status().state == RunState.RUNNING or remote.read_status().state == RunState.SUCCEEDED

    # A new client: the mirror holds everything seen so far and the follow continues after it.
    mirror = RunDir(ssh_ws.runs_dir / run_id)
    assert mirror.events() == seen
    ex2 = SSHExecutor.for_host(ssh_ws, "box")
    try:
        listed = {s.run_id: s for s in await ex2.list_runs()}
        assert listed[run_id].host == "box"
        rest = [e async for e in ex2.follow(run_id, after=seen[-1]["seq"])]
        final = await ex2.status(run_id)
    finally:
        await ex2.close()
    everything = seen + rest
    seqs = [e["seq"] for e in everything]
    assert seqs == list(range(1, len(seqs) + 1)), seqs  # no gap, no duplicate
    assert final.state == RunState.SUCCEEDED, final.error
    assert everything == remote.events() == mirror.events()
    steps = [e["step"] for e in everything if e["type"] == "metric" and e["split"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 14
