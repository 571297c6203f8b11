"""``pip install tailor-tui`` for real: a fresh venv with the light install only (tests/light_venv.py: this
tree's wheel and the dependencies its metadata names, no extra). The CLI and dataset browsing work, torch
cannot be imported, and a local launch is refused in one line with the command to run, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from light_venv import clean_env, light_venv

from tailor.engine.errors import TRAIN_EXTRA


@pytest.fixture(scope="module")
def light_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return light_venv(tmp_path_factory.mktemp("light"))


@pytest.mark.slow
def test_the_light_install_drives_everything_but_a_local_run(light_bin: Path, tmp_path: Path) -> None:
    env = clean_env(HOME=str(tmp_path), TAILOR_WORKSPACE=str(tmp_path / "ws"),
                    TAILOR_CONFIG=str(tmp_path / "config.toml"), HF_HUB_OFFLINE="1")

    def tailor(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(light_bin / "tailor"), *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)

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
    assert out.stderr.strip().startswith("note: token lengths needs the training stack")

    out = tailor("run", "demo-sft.yaml")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: a local run needs the training stack (torch, transformers, tokenizers, ... not installed "
        f"here): {TRAIN_EXTRA}, or launch it on a host (--host)"
    ]
    assert not list((tmp_path / "ws" / "runs").iterdir())
