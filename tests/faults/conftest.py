"""Fault injection against real worker processes (a fast plug-in kind, ``tick``) and the real sshd."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The OpenSSH server and the host entry pointing at it (tests/ssh/conftest.py), shared, not copied.
from ssh.conftest import _no_real_secrets, remote_dir, ssh_ws, sshd  # noqa: F401

from tailor.engine import kinds

HERE = Path(__file__).resolve().parent


@pytest.fixture
def tick(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ``tick`` kind registered here and in every worker this test starts (TAILOR_PLUGINS)."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TAILOR_PLUGINS", "tick_kind")
    kinds.load_plugins()
    yield
    kinds.unregister("tick")
    sys.modules.pop("tick_kind", None)


def wait_for(check: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
