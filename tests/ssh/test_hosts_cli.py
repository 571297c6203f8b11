"""`tailor hosts` against the real server: add/edit/rm, ~/.ssh/config aliases, test, gpus, ls, setup."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tailor import __version__
from tailor.engine.remote.hosts import all_hosts, get_host, resolve, ssh_settings
from tailor.tui.cli import cli

pytestmark = [pytest.mark.ssh]


def hosts_cli(ws, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["-w", str(ws.root), "hosts", *args], input=input)


async def run_cli(ws, *args: str, input: str | None = None):
    return await asyncio.to_thread(hosts_cli, ws, *args, input=input)


async def test_add_edit_rm_and_ssh_config_alias(ssh_ws, sshd, remote_dir: Path) -> None:
    cfg = ssh_ws.root / ".ssh-test" / "config"
    cfg.write_text(
        f"Host aliasbox\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.client_key}\n  IdentitiesOnly yes\nHost *.corp\n  User nobody\n"
    )
    hosts = all_hosts(ssh_ws)
    assert hosts["aliasbox"].source == "ssh_config" and "*.corp" not in hosts
    r = resolve(hosts["aliasbox"], ssh_settings(ssh_ws))
    assert (r.hostname, r.port, r.user, r.identity_files) == (
        "127.0.0.1",
        sshd.port,
        sshd.user,
        [str(sshd.client_key)],
    )
    # A config-only host gets its python/workdir from the workspace; address stays in ~/.ssh/config.
    out = await run_cli(ssh_ws, "edit", "aliasbox", "--python", sys.executable, "--workdir", str(remote_dir))
    assert out.exit_code == 0, out.output
    saved = yaml.safe_load(ssh_ws.config_file.read_text())["hosts"]["aliasbox"]
    assert "hostname" not in saved and saved["python"] == sys.executable
    out = await run_cli(ssh_ws, "test", "aliasbox", "--json")
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)
    assert row["reachable"] and row["tailor_version"] and row["gpus"] == []

    out = await run_cli(
        ssh_ws,
        "add",
        "gpu2",
        "--hostname",
        "10.9.9.9",
        "--user",
        "alice",
        "--port",
        "2222",
        "--env",
        "HF_HOME=/scratch/hf",
    )
    assert out.exit_code == 0, out.output
    assert get_host(ssh_ws, "gpu2").env == {"HF_HOME": "/scratch/hf"}
    out = await run_cli(ssh_ws, "add", "gpu2", "--hostname", "x")
    assert out.exit_code == 2 and "exists already" in out.output
    out = await run_cli(ssh_ws, "add", "local")
    assert out.exit_code == 2 and "host name" in out.output
    out = await run_cli(ssh_ws, "edit", "gpu2", "--port", "22", "--unset", "env")
    assert out.exit_code == 0 and get_host(ssh_ws, "gpu2").port == 22 and get_host(ssh_ws, "gpu2").env == {}
    out = await run_cli(ssh_ws, "rm", "gpu2")
    assert out.exit_code == 0 and "gpu2" not in all_hosts(ssh_ws)
    out = await run_cli(ssh_ws, "rm", "nosuch")
    assert out.exit_code == 2


async def test_ls_test_gpus(ssh_ws) -> None:
    out = await run_cli(ssh_ws, "ls")
    assert out.exit_code == 0, out.output
    assert out.output.startswith("box") and "no GPU" in out.output and "tailor" in out.output
    out = await run_cli(ssh_ws, "test", "box")
    assert out.exit_code == 0 and "reachable" in out.output and "GPUs: no GPU" in out.output
    out = await run_cli(ssh_ws, "gpus", "box", "--json")
    assert out.exit_code == 0 and json.loads(out.output) == []
    out = await run_cli(ssh_ws, "fit", "box", "demo-sft")
    assert out.exit_code == 0 and "GPU memory ~" in out.output and "no GPU" in out.output
    assert "set resources.gpus: 0 if CPU is intended (no warning then)" in out.output  # says what it is
    assert "model shape: from " in out.output  # tailor/tiny: its config.json, or its architecture before it is built
    out = await run_cli(ssh_ws, "test", "nosuch")
    assert out.exit_code == 2 and "unknown host 'nosuch'" in out.output


@pytest.mark.slow
async def test_setup_builds_wheel_and_venv(ssh_ws, sshd, remote_dir: Path, monkeypatch) -> None:
    """`tailor hosts setup`: wheel from this tree, uploaded, installed into a fresh venv on the host.

    Offline here, so pip gets --no-deps (`--pip-arg`) and the venv borrows this venv's site-packages through
    PYTHONPATH (a host `env:`); on a real host the dependencies come from its package index."""
    data = yaml.safe_load(ssh_ws.config_file.read_text())
    box = data["hosts"]["box"]
    del box["python"]
    box["setup"] = {"python": sys.executable}
    box["env"] = {"PYTHONPATH": sysconfig.get_paths()["purelib"]}
    ssh_ws.config_file.write_text(yaml.safe_dump(data))
    out = await run_cli(ssh_ws, "test", "box", "--json")
    assert "not installed" in json.loads(out.output)["error"]
    monkeypatch.setenv("PIP_NO_INPUT", "1")  # forwarded to pip on stdin
    out = await run_cli(ssh_ws, "setup", "box", "--pip-arg=--no-deps", "--forward-env", "PIP_NO_INPUT")
    assert out.exit_code == 0, out.output
    assert "ready: Tailor" in out.output and "not set in this environment" not in out.output
    assert "box: pip: Successfully installed tailor-tui" in out.output  # pip's progress, as it comes
    assert "is installed there already: kept" in out.output  # torch (through PYTHONPATH): no CPU/CUDA choice
    assert f"tailor_tui-{__version__}-py3-none-any.whl[train] and its dependencies" in out.output  # training stack
    venv = remote_dir / "venv"
    assert (venv / "bin" / "python").exists() and list((remote_dir / "wheels").glob("tailor_tui-*.whl"))
    out = await run_cli(ssh_ws, "test", "box", "--json")
    row = json.loads(out.output)
    assert row["error"] is None and row["python"].startswith(str(venv))
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "from tailor import engine; print(engine.__file__)"],
        cwd=remote_dir,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": box["env"]["PYTHONPATH"]},
        check=True,
    ).stdout
    assert where.startswith(str(venv))  # Tailor runs from the installed wheel, not this tree


async def test_a_host_set_up_before_the_tailor_namespace_is_told_to_run_setup_again(
    ssh_ws, sshd, remote_dir: Path
) -> None:
    """A host whose interpreter has an install from before the one `tailor` namespace (top-level `engine`
    and `tui` packages only) gets one line: run `tailor hosts setup` again."""
    old = remote_dir / "old-site"
    (old / "engine").mkdir(parents=True)
    (old / "engine" / "__init__.py").write_text('__version__ = "0.0.9"\n')
    venv = remote_dir / "old-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    data = yaml.safe_load(ssh_ws.config_file.read_text())
    data["hosts"]["box"]["python"] = str(venv / "bin" / "python")
    data["hosts"]["box"]["env"] = {"PYTHONPATH": str(old)}
    ssh_ws.config_file.write_text(yaml.safe_dump(data))
    out = await run_cli(ssh_ws, "test", "box", "--json")
    error = json.loads(out.output)["error"]
    assert "has no `tailor` package" in error and "run `tailor hosts setup box` again" in error
    assert "\n" not in error and "Traceback" not in out.output
