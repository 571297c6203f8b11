"""Host keys are verified: unknown keys need `tailor hosts trust` (fingerprint shown), a changed key
is refused with a warning; a wrong user or key gives one clear line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tailor.engine.errors import HostError
from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.remote.sshd import LocalSSHD, write_key
from tailor.tui.cli import cli
from tests.ssh.conftest import write_ws_config

pytestmark = [pytest.mark.ssh]


def hosts_cli(ws, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["-w", str(ws.root), "hosts", *args], input=input)


def known_hosts(ws) -> Path:
    return ws.root / ".ssh-test" / "known_hosts"


def set_host(ws, **fields) -> None:
    data = yaml.safe_load(ws.config_file.read_text())
    data["hosts"]["box"].update(fields)
    ws.config_file.write_text(yaml.safe_dump(data))


async def connect(ws) -> dict:
    ex = SSHExecutor.for_host(ws, "box")
    try:
        return await ex.info()
    finally:
        await ex.close()


async def test_unknown_host_needs_trust(ssh_ws, sshd, remote_dir) -> None:
    write_ws_config(ssh_ws, sshd, remote_dir, trusted=False)
    import asyncssh

    expected = asyncssh.read_public_key(f"{sshd.host_key}.pub").get_fingerprint("sha256")
    with pytest.raises(HostError) as err:
        await connect(ssh_ws)
    assert (
        "not in" in str(err.value)
        and expected in str(err.value)
        and "tailor hosts trust box" in str(err.value)
    )

    out = await asyncio.to_thread(hosts_cli, ssh_ws, "trust", "box", input="n\n")
    assert out.exit_code == 2 and expected in out.output and "not trusted" in out.output
    assert known_hosts(ssh_ws).read_text() == ""
    out = await asyncio.to_thread(hosts_cli, ssh_ws, "trust", "box", input="y\n")
    assert out.exit_code == 0, out.output
    assert f"[127.0.0.1]:{sshd.port}" in known_hosts(ssh_ws).read_text()
    assert (await connect(ssh_ws))["workspace"].endswith("/workspace")
    out = await asyncio.to_thread(hosts_cli, ssh_ws, "trust", "box")
    assert "already trusted" in out.output


async def test_changed_host_key_is_refused(ssh_ws, tmp_path: Path) -> None:
    server = LocalSSHD(tmp_path / "sshd2").setup().start()
    try:
        write_ws_config(ssh_ws, server, tmp_path / "remote")
        assert (await connect(ssh_ws))["tailor_version"]
        old = known_hosts(ssh_ws).read_text()
        server.restart(new_host_key=True)  # the "reinstalled" (or impersonated) host
        with pytest.raises(HostError, match="HAS CHANGED") as err:
            await connect(ssh_ws)
        assert "ssh-keygen -R" in str(err.value)
        out = await asyncio.to_thread(hosts_cli, ssh_ws, "trust", "box", "--yes")
        assert out.exit_code == 2 and "HAS CHANGED" in out.output
        assert known_hosts(ssh_ws).read_text() == old  # never overwritten
    finally:
        server.stop()


async def test_wrong_user_or_key(ssh_ws, sshd, tmp_path: Path) -> None:
    set_host(ssh_ws, user="nosuchuser")
    with pytest.raises(HostError, match="authentication failed for user 'nosuchuser'"):
        await connect(ssh_ws)
    stranger = write_key(tmp_path / "stranger_key")
    set_host(ssh_ws, user=sshd.user, identity_file=[str(stranger)])
    with pytest.raises(HostError, match="authentication failed") as err:
        await connect(ssh_ws)
    assert str(stranger) in str(err.value)
    out = await asyncio.to_thread(hosts_cli, ssh_ws, "test", "box")
    assert out.exit_code == 2 and out.output.startswith("error: box: authentication failed")


async def test_unreachable_host(ssh_ws) -> None:
    from tailor.engine.remote.sshd import free_port

    set_host(ssh_ws, port=free_port(), connect_timeout=3)
    with pytest.raises(HostError, match="cannot connect to 127.0.0.1"):
        await connect(ssh_ws)
    out = await asyncio.to_thread(hosts_cli, ssh_ws, "ls", "--json")
    row = json.loads(out.output.splitlines()[0])
    assert row["reachable"] is False and "cannot connect" in row["error"]
