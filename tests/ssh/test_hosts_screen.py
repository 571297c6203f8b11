"""The Hosts screen against the real server: probe, trust an unknown key from the TUI, add a host."""

from __future__ import annotations

import time

import pytest

from tailor.engine.remote.hosts import get_host
from tests.ssh.conftest import write_ws_config

pytestmark = [pytest.mark.ssh]


def make_app(ws):
    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp

    return TailorApp(ws, load_settings(workspace=ws.root))


async def wait_until(pilot, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        await pilot.pause(0.05)
    await pilot.pause()


async def test_hosts_screen_probe_trust_add(ssh_ws, sshd, remote_dir) -> None:
    from tailor.tui.screens.hosts import HostsScreen

    write_ws_config(ssh_ws, sshd, remote_dir, trusted=False)
    app = make_app(ssh_ws)
    async with app.run_test(size=(140, 40)) as pilot:
        app.action_goto("hosts")
        await wait_until(pilot, lambda: isinstance(app.screen, HostsScreen) and app.screen.probes >= 1)
        screen = app.screen
        assert screen.rows["box"]["state"] == "unreachable"
        assert "tailor hosts trust box" in screen.rows["box"]["error"]
        await pilot.press("K")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        assert "SHA256:" in str(app.screen.message)
        await pilot.press("y")
        known = ssh_ws.root / ".ssh-test" / "known_hosts"
        await wait_until(pilot, lambda: str(sshd.port) in known.read_text())
        await wait_until(pilot, lambda: screen.rows["box"]["state"].startswith("ok"))
        assert screen.rows["box"]["gpus"] == [] and screen.rows["box"]["tailor_version"]
        assert "no GPU" in str(screen.table.get_row("box"))

        await pilot.press("a")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HostFormScreen")
        await pilot.press(*"gpu9")
        app.screen.query_one("#host-hostname").value = "10.1.2.3"
        app.screen.query_one("#host-port").value = "2222"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "gpu9" in screen.rows)
        assert get_host(ssh_ws, "gpu9").port == 2222


async def test_hosts_screen_doctor_on_an_ssh_host(ssh_ws, sshd, remote_dir) -> None:
    """D on a plain SSH host: two tasks on it meet at the rendezvous and all-reduce (the CLI twin is
    `tailor hosts doctor box`; the Slurm side: tests/slurm/test_doctor.py)."""
    from tailor.tui.screens.hosts import HostsScreen

    write_ws_config(ssh_ws, sshd, remote_dir)
    app = make_app(ssh_ws)
    async with app.run_test(size=(140, 40)) as pilot:
        app.action_goto("hosts")
        await wait_until(pilot, lambda: isinstance(app.screen, HostsScreen) and app.screen.probes >= 1)
        await pilot.press("D")
        await wait_until(pilot, lambda: any("ready for a multi-node launch" in str(n.message)
                                            for n in app._notifications), timeout=240)
        (answer,) = [str(n.message) for n in app._notifications if "ready for" in str(n.message)]
        lines = answer.splitlines()
        assert lines[0] == "box: ready for a multi-node launch"
        assert any(line.startswith("  ok  all-reduce: gloo, 16 MiB x 2 tasks: ") for line in lines)
