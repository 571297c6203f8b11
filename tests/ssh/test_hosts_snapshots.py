"""Snapshots of the Hosts screen at 80x24 and 120x40 with two configured hosts in a fixed state.

No sshd and no network timing: both hosts point at closed ports on 127.0.0.1, so each probe ends at once
with the same one-line "cannot connect" error and the state "unreachable" (no latency in the picture).
The ssh config and known_hosts are empty files in the workspace, so ~/.ssh/config adds no hosts.
"""

from __future__ import annotations

import time

import pytest
import yaml
from pilot_helpers import settle_tables

SIZES = [(80, 24), (120, 40)]
CLOSED_PORTS = {"gpu-box": 1, "lab": 9}  # nothing listens there: connection refused, immediately


def make_app(ws):
    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp

    return TailorApp(ws, load_settings(workspace=ws.root, tui={"start_screen": "hosts"}))


async def wait_until(pilot, predicate, *, timeout: float = 30.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate} on {pilot.app.screen!r}")
        await pilot.pause(0.05)
    await pilot.pause()
    return result


@pytest.fixture
def hosts_workspace(workspace, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    ssh_dir = workspace.root / ".ssh-test"
    ssh_dir.mkdir()
    (ssh_dir / "config").write_text("")
    (ssh_dir / "known_hosts").write_text("")
    hosts = {
        "gpu-box": {
            "hostname": "127.0.0.1",
            "port": CLOSED_PORTS["gpu-box"],
            "user": "alice",
            "agent": False,
            "connect_timeout": 5,
            "workdir": "/srv/tailor",
        },
        "lab": {
            "hostname": "127.0.0.1",
            "port": CLOSED_PORTS["lab"],
            "user": "bob",
            "agent": False,
            "connect_timeout": 5,
        },
    }
    config = {
        "ssh": {"config": str(ssh_dir / "config"), "known_hosts": str(ssh_dir / "known_hosts")},
        "hosts": hosts,
    }
    workspace.config_file.write_text(yaml.safe_dump(config))
    yield workspace
    monkeypatch.undo()
    time.tzset()


async def probed(pilot):
    from tailor.tui.screens.hosts import HostsScreen

    def done():
        screen = pilot.app.screen
        return (
            isinstance(screen, HostsScreen)
            and screen.probes == len(CLOSED_PORTS)
            and all(row.get("state") == "unreachable" for row in screen.rows.values())
            and not [w for w in pilot.app.workers if w.group.startswith("hosts.") and w.is_running]
            and screen
        )

    return await wait_until(pilot, done, what="both hosts probed")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_hosts_screen(snap_compare, hosts_workspace, size):
    async def ready(pilot):
        screen = await probed(pilot)
        for name, port in CLOSED_PORTS.items():  # the one-line error of a refused connection, no timing
            assert screen.rows[name]["error"].startswith(f"{name}: cannot connect to 127.0.0.1:{port}: ")
        await settle_tables(pilot)

    assert snap_compare(make_app(hosts_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_add_host_form(snap_compare, hosts_workspace, size):
    """Every field, Save and Cancel on screen at 80x24 (one line per input; they used to fall below it)."""

    async def ready(pilot):
        await probed(pilot)
        await settle_tables(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "HostFormScreen", what="the form")

    assert snap_compare(make_app(hosts_workspace), terminal_size=size, run_before=ready)
