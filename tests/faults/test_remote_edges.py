"""Issue 26 item 9: remote at the same bar, against the real sshd. A launch whose connection drops is found
on reconnect and mirrored, said, never doubled; a channel closed without an exit status is a lost connection
(idempotent ops retry); a finished run's logs come from its mirror when the host is down; the manifest never
follows a link and a host offering forbidden entries is named; the data store is private.

The faults are injected by the host's ``python:``: a wrapper script that, the first time it is asked for a
given op, hangs (before or after running it, its answer lost) and leaves a mark; a watcher here then kills
the SSH sessions, so the client sees the channel close with no exit status, as after a network failure."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from ssh.conftest import FORWARD, write_ws_config

from faults.helpers import duplicates, lost_steps, tailor, tick_recipe
from faults.test_remote_hostile import host_run, private
from tailor.tui.cli import cli

pytestmark = pytest.mark.ssh


def tailor_here(ws, *args: str):
    """The CLI in this process (no interpreter start-up per call); ``returncode``/``stdout``/``stderr``."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["-w", str(ws.root), *args])
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def flaky_python(folder: Path, ops: dict[str, str], *, manifest_extra: str = "") -> Path:
    """A host interpreter that hangs once per op in ``ops`` ("before": the op never runs; "after": it runs,
    its answer is lost). ``manifest_extra``: JSON entries put in front of every manifest's files."""
    folder.mkdir(parents=True, exist_ok=True)
    branches = []
    for op, when in ops.items():
        run = f'"{sys.executable}" "$@" >/dev/null' if when == "after" else ":"
        branches.append(
            f'  {op}) if [ ! -e "{folder}/hung-{op}" ]; then {run}; touch "{folder}/hung-{op}"; sleep 30; exit 0; fi;;'
        )
    tamper = ""
    if manifest_extra:
        tamper = (f'if [ "$3" = manifest ]; then "{sys.executable}" "$@" | '
                  f"sed 's|\"files\": \\[|\"files\": [{manifest_extra}, |'; exit 0; fi\n")
    script = folder / "python"
    script.write_text("#!/bin/sh\ncase \"$3\" in\n" + "\n".join(branches) + "\n  *) ;;\nesac\n" + tamper
                      + f'exec "{sys.executable}" "$@"\n')
    script.chmod(0o700)
    return script


@contextmanager
def session_killer(sshd, folder: Path) -> Iterator[list[str]]:
    """Kill the SSH sessions each time the flaky interpreter leaves a new mark; yields the ops hit."""
    hit: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for mark in sorted(folder.glob("hung-*")):
                if mark.name not in hit:
                    hit.append(mark.name)
                    sshd.kill_sessions()
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield hit
    finally:
        stop.set()
        thread.join(5)


@pytest.fixture
def flaky_host(tick, workspace, sshd, remote_dir, tmp_path):
    """Host ``box`` (the test sshd, workers knowing ``tick``); ``make(ops)`` gives it a flaky interpreter."""
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    env.update(TAILOR_PLUGINS="tick_kind")

    def make(ops: dict[str, str], **kw) -> Path:
        folder = tmp_path / f"flaky-{len(list(tmp_path.glob('flaky-*')))}"
        write_ws_config(workspace, sshd, remote_dir, env=env, python=str(flaky_python(folder, ops, **kw)))
        return folder

    return make


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_launch_that_loses_its_connection_is_found_mirrored_and_said(flaky_host, workspace, sshd, remote_dir,
                                                                        when) -> None:
    folder = flaky_host({"launch": when})
    with session_killer(sshd, folder) as hit:
        out = tailor(workspace, "run", str(tick_recipe(workspace, steps=10, step_s=0.02)), "--host", "box")
    assert hit == ["hung-launch"]
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip()
    assert "connection lost" in out.stderr and "reconnecting to find out whether run" in out.stderr, out.stderr
    said = "found started there by that first attempt" if when == "after" else "was not there, so it was launched"
    assert said in out.stderr, out.stderr
    assert run_id in tailor_here(workspace, "runs").stdout  # plain `tailor runs` lists it: never a hidden run
    follow = tailor_here(workspace, "logs", "-f", run_id)
    assert follow.returncode == 0, follow.stderr
    runs_there = [p.name for p in (remote_dir / "workspace" / "runs").iterdir() if p.is_dir()]
    assert runs_there == [run_id]  # one run, one worker: no duplicate job
    mirror = workspace.run(run_id)
    assert duplicates(mirror) == {"seq": 0, "steps": 0, "out_of_order": 0} and lost_steps(mirror, 10, 5) == []
    assert "Warning" not in out.stderr + follow.stderr  # no third-party deprecation noise reaches the user


def test_idempotent_ops_retry_a_channel_closed_without_exit_status(flaky_host, workspace, sshd, remote_dir) -> None:
    host_run(remote_dir, "done-1")
    folder = flaky_host({"manifest": "after", "events": "after", "list": "after"})
    with session_killer(sshd, folder) as hit:
        listed = tailor_here(workspace, "runs", "--host", "box")
        logs = tailor_here(workspace, "logs", "done-1")
        fetched = tailor_here(workspace, "hosts", "fetch", "done-1")
    assert listed.returncode == 0 and "done-1" in listed.stdout, listed.stderr
    assert logs.returncode == 0, logs.stderr
    assert fetched.returncode == 0, fetched.stderr
    assert sorted(hit) == ["hung-events", "hung-list", "hung-manifest"]
    assert (workspace.run("done-1").adapter_dir / "adapter_config.json").exists()


def test_a_finished_runs_logs_come_from_its_mirror_when_the_host_is_down(tick_host_ws, workspace, remote_dir) -> None:
    from tailor.engine.remote.sshd import free_port

    run_id = tailor_here(workspace, "run", str(tick_recipe(workspace, steps=8, step_s=0.02)), "--host", "box").stdout.strip()
    assert tailor_here(workspace, "logs", "-f", run_id).returncode == 0
    data = yaml.safe_load(workspace.config_file.read_text())
    data["hosts"]["box"].update(port=free_port(), connect_timeout=2)  # the host goes down
    workspace.config_file.write_text(yaml.safe_dump(data))
    before = workspace.run(run_id).events()
    for args in (("logs", run_id), ("logs", "-f", run_id)):
        t0 = time.monotonic()
        out = tailor_here(workspace, *args)
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - t0 < 8 and out.stdout.count("\n") == len(before)  # at once, all of it
    # A mirror whose end is missing (the run ended while nobody followed): shown, and said to be the mirror.
    mirror = workspace.run(run_id)
    lines = mirror.events_file.read_text().splitlines()
    mirror.events_file.write_text("\n".join(lines[:-1]) + "\n")
    out = tailor_here(workspace, "logs", run_id)
    assert out.returncode == 0 and "showing the events mirrored here" in out.stderr, out.stderr
    t0 = time.monotonic()
    out = tailor_here(workspace, "logs", "-f", run_id)
    assert out.returncode == 0 and "showed the events mirrored here" in out.stderr, out.stderr
    assert time.monotonic() - t0 < 10


@pytest.fixture
def tick_host_ws(tick, workspace, sshd, remote_dir):
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    env.update(TAILOR_PLUGINS="tick_kind")
    write_ws_config(workspace, sshd, remote_dir, env=env)
    return workspace


def test_the_manifest_follows_no_link_and_a_host_offering_more_is_named(flaky_host, workspace, sshd, remote_dir,
                                                                        tmp_path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.txt").write_text("not the run's")
    (outside / "deep" / "key").write_text("not the run's")
    run = host_run(remote_dir, "links-1")
    run.eval_dir.rmdir()
    run.eval_dir.symlink_to(outside)  # a top-level folder that is a link
    (run.checkpoints_dir / "checkpoint-1").mkdir()
    (run.checkpoints_dir / "checkpoint-1" / "deep").symlink_to(outside / "deep")  # a link one level down
    (run.adapter_dir / "weights.bin").symlink_to(outside / "secret.txt")  # a linked file
    run.stdout_file.symlink_to(outside / "secret.txt")
    extra = ('{"path": ".bashrc", "size": 1, "sha256": "00", "live": false}, '
             '{"path": "../../escape", "size": 1, "sha256": "00", "live": false}')
    flaky_host({}, manifest_extra=extra)
    assert "links-1" in tailor_here(workspace, "runs", "--host", "box").stdout
    out = tailor_here(workspace, "hosts", "fetch", "links-1")
    assert out.returncode == 0, out.stderr
    assert "host box offered 2 entries a fetch never takes ('.bashrc', '../../escape')" in out.stdout, out.stdout
    local = workspace.run("links-1")
    fetched = sorted(str(p.relative_to(local.path)) for p in local.path.rglob("*") if p.is_file())
    assert "adapter/adapter_config.json" in fetched
    assert not [f for f in fetched if f.startswith(("eval/", "checkpoints/")) or f in ("stdout.log", ".bashrc")]
    assert not [p for p in local.path.rglob("*") if p.is_file() and "not the run's" in p.read_text(errors="replace")]


def test_the_data_store_is_private(ssh_ws, remote_dir, tmp_path) -> None:
    from tailor.engine.remote.connection import HostConnection
    from tailor.engine.remote.hosts import get_host
    from tailor.engine.remote.sync import sync_data

    data = tmp_path / "mydata"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "rows.jsonl").write_text('{"text": "x"}\n')
    (data / "sub" / "rows.jsonl").chmod(0o644)
    recipe = {"data": {"train": [{"path": str(data)}]}}

    async def go() -> str:
        conn = HostConnection.for_workspace(ssh_ws, get_host(ssh_ws, "box"))
        try:
            info = await conn.op("info")
            await sync_data(conn, recipe, info["store"])
            return info["store"]
        finally:
            await conn.close()

    store = Path(asyncio.run(go()))
    assert recipe["data"]["train"][0]["path"].startswith(str(store))
    assert stat.S_IMODE(store.stat().st_mode) == 0o700 and private(store) == []
    assert list(store.rglob("rows.jsonl"))

