"""A real OpenSSH server on 127.0.0.1 (temporary host key, authorized key and port) and a workspace
whose ``box`` host points at it. The remote Python is this venv's (``python:``), the remote workdir a
temporary folder, so each test gets its own remote workspace."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from servers import SSHD, need

from tailor.engine.remote.sshd import LocalSSHD, sshd_available
from tailor.engine.workspace import Workspace

ROWS = [
    {"instruction": f"Say the number {i} in words.", "input": "", "output": f"The number is {i}."}
    for i in range(16)
]


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    need(SSHD, sshd_available)
    server = LocalSSHD(tmp_path_factory.mktemp("sshd")).setup().start()
    yield server
    server.stop()


# sshd starts remote commands with a bare environment: hand the test session's isolation through the
# host's non-secret env, so remote workers use the session's model cache, never the user's ~/.cache, and
# the host side imports the Tailor under test (PYTHONPATH, where the session has one).
FORWARD = (
    "TAILOR_CACHE", "TAILOR_CONFIG", "OMP_NUM_THREADS", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM", "PYTHONPATH",
)


def host_entry(sshd: LocalSSHD, workdir: Path, **extra) -> dict:
    extra.setdefault("env", {k: os.environ[k] for k in FORWARD if k in os.environ})
    return {
        "hostname": "127.0.0.1",
        "port": sshd.port,
        "user": sshd.user,
        "identity_file": [str(sshd.client_key)],
        "agent": False,
        "python": sys.executable,
        "workdir": str(workdir),
        **extra,
    }


def write_ws_config(ws: Workspace, sshd: LocalSSHD, workdir: Path, *, trusted: bool = True, **extra) -> None:
    ssh_dir = ws.root / ".ssh-test"
    ssh_dir.mkdir(exist_ok=True)
    known = ssh_dir / "known_hosts"
    known.write_text(sshd.known_hosts_line() if trusted else "")
    (ssh_dir / "config").write_text("")
    config = {
        "ssh": {"config": str(ssh_dir / "config"), "known_hosts": str(known)},
        "hosts": {"box": host_entry(sshd, workdir, **extra)},
    }
    ws.config_file.write_text(yaml.safe_dump(config))


@pytest.fixture
def remote_dir(tmp_path: Path) -> Path:
    return tmp_path / "remote"


@pytest.fixture
def ssh_ws(workspace: Workspace, sshd: LocalSSHD, remote_dir: Path) -> Workspace:
    """The seeded test workspace with host ``box`` = the test sshd, its host key already trusted."""
    write_ws_config(workspace, sshd, remote_dir)
    return workspace


async def wait_for(predicate, timeout: float = 120.0, interval: float = 0.1):
    """Poll ``predicate`` (sync) until truthy; fail after ``timeout`` seconds."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def write_recipe(
    ws: Workspace, *, steps: int = 30, data_name: str = "train.jsonl", name: str = "tiny"
) -> Path:
    data = ws.data_dir / data_name
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    recipe = {
        "kind": "sft",
        "name": name,
        "model": "tailor/tiny",
        "method": "lora",
        "lora": {"r": 4, "lora_alpha": 8},
        "data": {"train": [{"path": str(data), "format": "alpaca"}]},
        "train": {
            "max_steps": steps,
            "logging_steps": 1,
            "per_device_train_batch_size": 2,
            "max_length": 64,
            "save_steps": 10,
        },
        "resources": {"gpus": 0},
    }
    path = ws.recipes_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def _no_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY", "SSH_AUTH_SOCK"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
