"""A host's ``env:`` through `tailor hosts add/edit`: secrets refused by name and by look and never echoed,
edits merge (``--unset-env`` removes one key), values never printed; ``--forward-env``/``--pip-arg`` saved;
what `hosts setup` does about torch on a host without a GPU. No server needed."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from tailor.engine.remote.bootstrap import CPU_TORCH_INDEX, torch_plan
from tailor.engine.remote.hosts import get_host
from tailor.engine.remote.quoting import secret_reason
from tailor.tui.cli import cli

TOKEN = "hf_" + "Zq7" * 12  # token-shaped, not a real one
LEAK = TOKEN[-8:]


def hosts(ws, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws.root), "hosts", *args])


@pytest.mark.parametrize("pair", [
    f"HUGGING_FACE_HUB_TOKEN={TOKEN}", f"DB_PASSWORD={TOKEN}", f"HF_HOME={TOKEN}", "MY_API_KEY=abc",
    "GH=ghp_" + "a1" * 15, "URL=https://me:pa55word@index.example/simple", "WB=" + "0f" * 20,
])
def test_secrets_are_refused_from_env_and_never_echoed(workspace, pair: str) -> None:
    key, _, value = pair.partition("=")
    out = hosts(workspace, "add", "gpu", "--hostname", "10.0.0.5", "--env", pair)
    assert out.exit_code == 2, out.output
    assert key in out.output and "forward" in out.output and "\n" not in out.output.strip()
    assert value[-6:] not in out.output and LEAK not in out.output and "input_value" not in out.output
    assert not (workspace.config_file.exists() and "gpu" in workspace.config_file.read_text())


def test_harmless_values_pass() -> None:
    for key, value in {"TOKENIZERS_PARALLELISM": "false", "HF_HOME": "/scratch/hf", "OMP_NUM_THREADS": "4",
                       "CUDA_VISIBLE_DEVICES": "GPU-8e7a1f7c-0d2b-4c4e-9a8e-2f1d5b7c9e31", "PYTHONPATH": "/opt/x"}.items():
        assert secret_reason(key, value) is None, key


def test_a_value_without_equals_is_not_echoed(workspace) -> None:
    out = hosts(workspace, "add", "gpu", "--env", TOKEN)
    assert out.exit_code == 2 and LEAK not in out.output and "KEY=VALUE" in out.output


def test_edit_env_merges_removes_one_key_and_never_prints_values(workspace) -> None:
    assert hosts(workspace, "add", "gpu", "--hostname", "10.0.0.5", "--env", "OMP_NUM_THREADS=1",
                 "--env", "HF_HUB_OFFLINE=1").exit_code == 0
    out = hosts(workspace, "edit", "gpu", "--env", "HF_HOME=/scratch/secret-place")
    assert out.exit_code == 0, out.output
    assert get_host(workspace, "gpu").env == {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": "/scratch/secret-place"}
    assert "secret-place" not in out.output and "HF_HOME" in out.output and "values not shown" in out.output
    out = hosts(workspace, "edit", "gpu", "--unset-env", "HF_HUB_OFFLINE")
    assert out.exit_code == 0 and get_host(workspace, "gpu").env == {"OMP_NUM_THREADS": "1", "HF_HOME": "/scratch/secret-place"}
    out = hosts(workspace, "edit", "gpu", "--unset-env", "NOPE")
    assert out.exit_code == 2 and "has no NOPE to unset" in out.output and "secret-place" not in out.output
    out = hosts(workspace, "edit", "gpu", "--forward-env", "DB_PASSWORD", "--pip-arg=--index-url=https://i.example/simple")
    assert out.exit_code == 0, out.output
    saved = yaml.safe_load(workspace.config_file.read_text())["hosts"]["gpu"]
    assert saved["forward_env"] == ["DB_PASSWORD"] and saved["setup"] == {"pip_args": ["--index-url=https://i.example/simple"]}
    assert hosts(workspace, "edit", "gpu", "--forward-env", "X_TOKEN").exit_code == 0
    assert get_host(workspace, "gpu").forward_env == ["DB_PASSWORD", "X_TOKEN"]
    assert hosts(workspace, "edit", "gpu", "--unset", "env").exit_code == 0 and get_host(workspace, "gpu").env == {}


def test_setup_picks_the_cpu_torch_build_on_a_host_without_a_gpu() -> None:
    argv, line = torch_plan(has_gpu=False, torch_version=None, pip_args=[], system_site_packages=False)
    assert argv == ["torch", "--index-url", CPU_TORCH_INDEX] and "CPU build" in line
    assert torch_plan(has_gpu=True, torch_version=None, pip_args=[], system_site_packages=False)[0] is None
    argv, line = torch_plan(has_gpu=False, torch_version="2.5.1", pip_args=[], system_site_packages=False)
    assert argv is None and "2.5.1" in line
    argv, line = torch_plan(has_gpu=False, torch_version=None, pip_args=["--index-url=https://mirror/simple"],
                            system_site_packages=False)
    assert argv is None and f"--pip-arg=--extra-index-url={CPU_TORCH_INDEX}" in line  # says how
