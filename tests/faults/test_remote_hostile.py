"""Items 10, 3 (mirror side) and 13: a host cannot adopt, re-point or rewrite local runs; mirrors take only
valid events; everything a run writes is private. Against the real OpenSSH server of tests/ssh."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from faults.helpers import tailor
from tailor.engine.remote.fetch import fetchable
from tailor.engine.runs import RunDir, Status
from tailor.engine.runs.status import RunState


def host_run(remote_dir: Path, run_id: str, **status) -> RunDir:
    """A run directory made on the host side (its workspace is a folder here)."""
    st = Status(run_id=run_id, kind="sft", name="x", state=RunState.SUCCEEDED, **status)
    run = RunDir.create(remote_dir / "workspace" / "runs", run_id, "kind: sft\nname: host-recipe\n", st)
    (run.adapter_dir).mkdir(mode=0o700)
    (run.adapter_dir / "adapter_config.json").write_text("{}")
    return run


@pytest.mark.ssh
def test_a_host_run_with_a_local_id_is_never_adopted(ssh_ws, remote_dir) -> None:
    local = RunDir.create(ssh_ws.runs_dir, "same-1", "kind: sft\n", Status(run_id="same-1", kind="sft", name="mine"))
    before = local.status_file.read_bytes()
    host_run(remote_dir, "same-1")
    out = tailor(ssh_ws, "runs", "--host", "box")
    assert out.returncode == 0, out.stderr
    assert local.status_file.read_bytes() == before and not (local.path / "remote.json").exists()
    logs = tailor(ssh_ws, "logs", "same-1", "--host", "box")
    assert logs.returncode == 2 and "collides with a local run" in logs.stderr, logs.stderr
    fetch = tailor(ssh_ws, "hosts", "fetch", "same-1")
    assert fetch.returncode != 0 or not (local.adapter_dir / "adapter_config.json").exists()
    assert local.status_file.read_bytes() == before


@pytest.mark.ssh
def test_fetch_writes_only_artefacts_and_logs(ssh_ws, remote_dir) -> None:
    run = host_run(remote_dir, "theirs-1")
    (run.path / "remote.json").write_text(json.dumps({"host": "elsewhere", "path": "/x"}))
    listed = tailor(ssh_ws, "runs", "--host", "box")
    assert "theirs-1" in listed.stdout
    mirror = ssh_ws.run("theirs-1")
    (mirror.path / "recipe.yaml").write_text("kind: sft\nname: local-recipe\n")
    out = tailor(ssh_ws, "hosts", "fetch", "theirs-1")
    assert out.returncode == 0, out.stderr
    assert (mirror.adapter_dir / "adapter_config.json").exists()
    assert json.loads((mirror.path / "remote.json").read_text())["host"] == "box"
    assert "local-recipe" in (mirror.path / "recipe.yaml").read_text()


def test_fetchable_paths() -> None:
    for ok in ("adapter/adapter_model.safetensors", "checkpoints/checkpoint-2/trainer_state.json", "eval/results.json",
               "stderr.log", "stdout.log"):
        assert fetchable(ok), ok
    for bad in ("status.json", "remote.json", "recipe.yaml", "events.jsonl", "../x", "adapter/../status.json",
                "/etc/passwd", "adapter", "lock", ".manifest-cache.json"):
        assert not fetchable(bad), bad


@pytest.mark.ssh
def test_the_mirror_skips_malformed_remote_events(ssh_ws, remote_dir) -> None:
    run = host_run(remote_dir, "odd-1")
    with open(run.events_file, "a") as fh:
        fh.write(json.dumps({"seq": 2, "time": 1, "type": "metric", "step": 1, "values": {"loss": "abc"}}) + "\n")
        fh.write(json.dumps({"seq": 3, "time": 1, "type": "log", "level": "info", "message": "\x1b]0;x\x07ok"}) + "\n")
    out = tailor(ssh_ws, "logs", "odd-1", "--host", "box")
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "ok" in out.stdout
    mirrored = [json.loads(x) for x in (ssh_ws.runs_dir / "odd-1" / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in mirrored] == [1, 3]


def private(path: Path) -> list[str]:
    """Everything under ``path`` not 0700 (folders) or 0600 (files)."""
    bad = []
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            p = Path(dirpath) / name
            mode = stat.S_IMODE(p.lstat().st_mode)
            if p.is_symlink():
                continue
            if mode & 0o077:
                bad.append(f"{p.relative_to(path)} {oct(mode)}")
    return bad


@pytest.mark.slow
def test_everything_a_training_run_writes_is_private(workspace) -> None:
    out = tailor(workspace, "run", "demo-sft", "-s", "train.max_steps=2", "-s", "train.save_steps=1",
                 "-s", "train.eval_steps=1", "-s", "train.logging_steps=1", "-f", timeout=600)
    assert out.returncode == 0, out.stderr
    run = workspace.run(out.stdout.splitlines()[0])
    assert list(run.checkpoints_dir.iterdir()) and (run.adapter_dir / "adapter_config.json").exists()
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o700
    assert private(run.path) == []


@pytest.mark.ssh
def test_tailor_runs_refreshes_remote_runs_and_marks_an_unreachable_host_stale(ssh_ws, remote_dir) -> None:
    import subprocess
    import time

    import yaml

    from tailor.engine.remote.sshd import free_port
    from tailor.engine.runs.liveness import process_start, this_host

    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        run = host_run(remote_dir, "live-1")
        st = run.read_status().model_copy(update={
            "state": RunState.RUNNING, "pid": sleeper.pid, "pid_start": process_start(sleeper.pid),
            "host": this_host(), "started_at": time.time()})
        run.write_status(st)
        run.beat(sleeper.pid, 1)
        assert "live-1" in tailor(ssh_ws, "runs", "--host", "box").stdout  # the mirror now says running
        run.write_status(st.model_copy(update={"state": RunState.SUCCEEDED, "ended_at": time.time()}))
        listed = tailor(ssh_ws, "runs")
        row = [line for line in listed.stdout.splitlines() if "live-1" in line]
        assert row and "succeeded" in row[0], listed.stdout

        run.write_status(st)  # running again, then the host goes away
        tailor(ssh_ws, "runs", "--host", "box")
        data = yaml.safe_load(ssh_ws.config_file.read_text())
        data["hosts"]["box"].update(port=free_port(), connect_timeout=2)
        ssh_ws.config_file.write_text(yaml.safe_dump(data))
        listed = tailor(ssh_ws, "runs")
        row = [line for line in listed.stdout.splitlines() if "live-1" in line]
        assert row and "running? (last known;" in listed.stdout, listed.stdout

        # The TUI's Runs screen lists through the same refresh: the last known state, marked stale.
        import asyncio

        from tailor.engine.executors.local import LocalExecutor
        from tailor.tui.widgets.run_settings import list_with_hosts

        statuses, hosts = asyncio.run(list_with_hosts(LocalExecutor(ssh_ws)))
        (live,) = [s for s in statuses if s.run_id == "live-1"]
        assert hosts["live-1"] == "box" and live.stale and live.state_label.startswith("running? (last known;")
    finally:
        sleeper.kill()
