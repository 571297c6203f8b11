"""Item 11: a host key that changes type (ed25519 -> ecdsa) is a possible interception, not "unreachable"."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from servers import SSHD, need
from ssh.conftest import write_ws_config

from faults.helpers import tailor
from tailor.engine.remote.sshd import LocalSSHD, sshd_available


@pytest.mark.ssh
def test_key_type_change_is_reported_as_a_changed_key(workspace, tmp_path: Path) -> None:
    need(SSHD, sshd_available)
    server = LocalSSHD(tmp_path / "sshd").setup().start()
    try:
        write_ws_config(workspace, server, tmp_path / "remote")
        ok = tailor(workspace, "hosts", "test", "box")
        assert ok.returncode == 0, ok.stderr
        server.key_alg = "ecdsa-sha2-nistp256"
        server.restart(new_host_key=True)
        started = time.monotonic()
        out = tailor(workspace, "hosts", "test", "box")
        assert out.returncode == 2, out.stdout
        assert "HAS CHANGED" in out.stderr and "ecdsa-sha2-nistp256" in out.stderr, out.stderr
        assert "reset" not in out.stderr.lower() and "unreachable" not in out.stderr.lower()
        assert out.stderr.count("SHA256:") == 2  # the offered fingerprint once, the known one once
        assert time.monotonic() - started < 15  # refused at once, not retried as a dead link
    finally:
        server.stop()
