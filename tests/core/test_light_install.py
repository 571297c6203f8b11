"""``pip install tailor-tui`` for real: a fresh venv with the light install only (tests/light_venv.py: this
tree's wheel and the dependencies its metadata names, no extra). The CLI and dataset browsing work, torch
cannot be imported, a local launch is refused in one line with the command to run (exit 2), and a run on an
SSH host is launched and followed with nothing heavy here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from light_venv import clean_env, light_venv
from ssh.conftest import FORWARD, sshd, write_ws_config  # noqa: F401 - the sshd fixture

from tailor.engine.errors import TRAIN_EXTRA
from tailor.engine.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def light_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return light_venv(tmp_path_factory.mktemp("light"))


def light_tailor(light_bin: Path, home: Path):
    """``tailor`` of the light venv, on the workspace ``home/ws``."""
    env = clean_env(HOME=str(home), TAILOR_WORKSPACE=str(home / "ws"), TAILOR_CONFIG=str(home / "config.toml"),
                    HF_HUB_OFFLINE="1")

    def tailor(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(light_bin / "tailor"), *args], capture_output=True, text=True, env=env,
                              cwd=home, timeout=300)

    return tailor


@pytest.mark.slow
def test_the_light_install_drives_everything_but_a_local_run(light_bin: Path, tmp_path: Path) -> None:
    tailor = light_tailor(light_bin, tmp_path)
    env = clean_env()

    torch = subprocess.run([str(light_bin / "python"), "-c", "import torch"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert "No module named 'torch'" in torch.stderr
    assert tailor("--help").returncode == 0
    assert tailor("init").returncode == 0
    out = tailor("runs")
    assert out.returncode == 0 and "no runs yet" in out.stdout + out.stderr, out.stderr
    data = tmp_path / "ws" / "data" / "reverse" / "train.jsonl"
    out = tailor("data", "show", str(data))
    assert out.returncode == 0 and "Reverse:" in out.stdout, out.stderr
    out = tailor("data", "check", str(data))  # the report without token lengths, which say why in one line
    assert out.returncode == 0 and "verdict" in out.stdout, out.stderr
    assert out.stderr.strip().startswith("note: counting tokens needs the training stack")

    out = tailor("run", "demo-sft.yaml")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: a local run needs the training stack (torch, transformers, tokenizers, ... not installed "
        f"here): {TRAIN_EXTRA}, or launch it on a host (--host)"
    ]
    assert not list((tmp_path / "ws" / "runs").iterdir())


@pytest.mark.slow
@pytest.mark.ssh
def test_the_light_install_launches_and_follows_a_run_on_a_host(light_bin: Path, sshd, tmp_path: Path) -> None:  # noqa: F811
    tailor = light_tailor(light_bin, tmp_path)
    assert tailor("init").returncode == 0
    # The host's Python is this test venv's (the training stack), running this tree's Tailor.
    env = {k: os.environ[k] for k in FORWARD if k in os.environ} | {"PYTHONPATH": str(REPO)}
    write_ws_config(Workspace(tmp_path / "ws"), sshd, tmp_path / "remote", env=env)
    out = tailor("run", "demo-sft", "--host", "box", "-s", "train.max_steps=3", "-f")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "status succeeded" in out.stdout
    assert "box" in tailor("runs", "--host", "box").stdout
