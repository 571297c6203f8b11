"""Item 8: the documented new-user flow with defaults only (no ``python:``, no ``workdir:``): a host from
~/.ssh/config -> trust -> setup -> run -> follow -> fetch, against a real OpenSSH server whose sessions
get a temporary $HOME (so the default ``~/.tailor`` is expanded on the host, never quoted literally)."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from servers import SSHD, need

from faults.helpers import tailor
from tailor.engine.remote.sshd import LocalSSHD, sshd_available

FORWARD = ("TAILOR_CACHE", "TAILOR_CONFIG", "OMP_NUM_THREADS", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM")


@pytest.fixture
def home_sshd(tmp_path: Path):
    need(SSHD, sshd_available)
    home = tmp_path / "remote-home"
    home.mkdir(mode=0o700)
    server = LocalSSHD(tmp_path / "sshd", home=home).setup().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_new_user_flow_with_default_workdir(home_sshd: LocalSSHD, workspace, tmp_path: Path) -> None:
    ssh_dir = tmp_path / "dot-ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "config").write_text(
        f"Host gpu\n  HostName 127.0.0.1\n  Port {home_sshd.port}\n  User {home_sshd.user}\n"
        f"  IdentityFile {home_sshd.client_key}\n"
    )
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    # Offline here: pip gets --no-deps and the host venv borrows this venv's packages via PYTHONPATH.
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    workspace.config_file.write_text(yaml.safe_dump({
        "ssh": {"config": str(ssh_dir / "config"), "known_hosts": str(ssh_dir / "known_hosts")},
    }))
    assert tailor(workspace, "hosts", "trust", "gpu", "--yes").returncode == 0
    edit = tailor(workspace, "hosts", "edit", "gpu", *[f"--env={k}={v}" for k, v in env.items()])
    assert edit.returncode == 0, edit.stderr
    data = yaml.safe_load(workspace.config_file.read_text())
    box = data["hosts"]["gpu"]
    assert "python" not in box and "workdir" not in box  # the defaults under test
    box["setup"] = {"python": sys.executable, "pip_args": ["--no-deps"]}
    box["agent"] = False
    workspace.config_file.write_text(yaml.safe_dump(data))

    setup = tailor(workspace, "hosts", "setup", "gpu", timeout=600)
    assert setup.returncode == 0, setup.stderr + setup.stdout
    assert "ready: Tailor" in setup.stdout + setup.stderr
    assert (home_sshd.home / ".tailor" / "venv" / "bin" / "python").exists()
    test = tailor(workspace, "hosts", "test", "gpu")
    assert test.returncode == 0 and "tailor 0." in test.stdout.lower(), test.stdout + test.stderr

    run = tailor(workspace, "run", "demo-sft", "--host", "gpu", "-s", "train.max_steps=4", "-s", "train.save_steps=2",
                 "-s", "train.eval_steps=2", "-s", "train.logging_steps=1", timeout=300)
    assert run.returncode == 0, run.stderr
    assert "warning: gpu: the host has no GPU" in run.stderr and "a warning only: the run was launched" in run.stderr
    run_id = run.stdout.strip()
    follow = tailor(workspace, "logs", "-f", run_id, timeout=600)
    assert follow.returncode == 0 and f"{run_id}: succeeded" in follow.stderr, follow.stderr[-2000:]
    fetched = tailor(workspace, "hosts", "fetch", run_id, timeout=300)
    assert fetched.returncode == 0, fetched.stderr
    local = workspace.run(run_id)
    assert (local.adapter_dir / "adapter_config.json").exists()
    assert (home_sshd.home / ".tailor" / "workspace" / "runs" / run_id / "status.json").exists()
    listed = tailor(workspace, "runs")
    assert "succeeded" in listed.stdout
