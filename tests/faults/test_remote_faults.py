"""Remote faults against the real sshd: connection kills are visible and lose nothing (item 15), two
resumes on the host start one worker (item 1, remote), a stalled remote worker shows (item 5, remote)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from ssh.conftest import FORWARD, write_ws_config

from faults.helpers import duplicates, lost_steps, tailor, tailor_bg, tick_recipe, wait_state
from tailor.engine.runs.rundir import RunDir

pytestmark = pytest.mark.ssh


@pytest.fixture
def tick_host(tick, workspace, sshd, remote_dir):
    """Host ``box`` = the test sshd, whose workers also know the ``tick`` kind."""
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    env.update(TAILOR_PLUGINS="tick_kind")  # (PYTHONPATH, forwarded, holds HERE: the ``tick`` fixture)
    write_ws_config(workspace, sshd, remote_dir, env=env)
    return workspace


def remote_run(remote_dir, run_id: str) -> RunDir:
    return RunDir(remote_dir / "workspace" / "runs" / run_id)


def test_connection_kills_are_announced_and_lose_nothing(tick_host, sshd, remote_dir) -> None:
    ws = tick_host
    out = tailor(ws, "run", str(tick_recipe(ws, steps=60, step_s=0.1)), "--host", "box")
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip()
    follower = tailor_bg(ws, "logs", "-f", run_id)
    remote = remote_run(remote_dir, run_id)
    for at in (10, 25, 40):
        while remote.read_status().step < at:
            time.sleep(0.05)
        sshd.kill_sessions()
    stdout, stderr = follower.communicate(timeout=180)
    assert follower.returncode == 0, stderr
    assert "connection lost; reconnecting, attempt 1 in" in stderr and "reconnected" in stderr, stderr
    seqs = [int(line.split("#")[1].split()[0]) for line in stdout.splitlines() if "#" in line]
    assert seqs == list(range(1, len(seqs) + 1))
    mirror = ws.run(run_id)
    assert duplicates(mirror) == {"seq": 0, "steps": 0, "out_of_order": 0}
    assert lost_steps(mirror, 60, 5) == []


def test_double_resume_on_the_host_starts_one_worker(tick_host, remote_dir) -> None:
    ws = tick_host
    run_id = tailor(ws, "run", str(tick_recipe(ws, steps=40, step_s=0.05)), "--host", "box").stdout.strip()
    remote = remote_run(remote_dir, run_id)
    while remote.read_status().step < 12:
        time.sleep(0.05)
    st = remote.read_status()
    os.killpg(st.pgid or st.pid, signal.SIGKILL)
    time.sleep(0.5)
    procs = [tailor_bg(ws, "resume", run_id) for _ in range(3)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    assert sum(code == 0 for code, _o, _e in results) == 1, results
    assert any("already resumed by pid" in e or "still queued" in e or "still running" in e
               for code, _o, e in results if code), results
    assert wait_state(remote, "succeeded", timeout=120) == "succeeded"
    assert duplicates(remote) == {"seq": 0, "steps": 0, "out_of_order": 0}
    assert lost_steps(remote, 40, 5) == []


def test_a_stopped_remote_worker_shows_stalled(tick, workspace, sshd, remote_dir, tmp_path) -> None:
    config = tmp_path / "host-config.toml"
    config.write_text("heartbeat_timeout_s = 3\n")
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    env.update(TAILOR_PLUGINS="tick_kind", TAILOR_CONFIG=str(config))
    write_ws_config(workspace, sshd, remote_dir, env=env)
    run_id = tailor(workspace, "run", str(tick_recipe(workspace, steps=400, step_s=0.05)), "--host", "box").stdout.strip()
    remote = remote_run(remote_dir, run_id)
    while remote.read_status().step < 3:
        time.sleep(0.05)
    pid = remote.read_status().pid
    assert pid
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(5)
        listed = tailor(workspace, "runs")
        assert "stalled (no heartbeat for" in listed.stdout, listed.stdout
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(3)
    listed = tailor(workspace, "runs")
    assert "stalled" not in listed.stdout and "running" in listed.stdout, listed.stdout
    tailor(workspace, "cancel", run_id, "--wait", "30")
