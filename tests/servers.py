"""The system servers the suite runs for real (OpenSSH, Slurm, PostgreSQL): installed on first use, or the
tests that need one skipped with one line.

The README's test command is all a fresh Debian/Ubuntu machine needs: run as root or with passwordless
sudo, the first fixture that needs a missing server runs its ``.ci/install-*.sh`` script, once per machine
(a file lock keeps pytest-xdist workers from installing side by side; the others wait, then find it
installed). Without root or sudo nothing can be installed, and those tests are skipped with one line that
names the package, never errors. ``TAILOR_TESTS_INSTALL=0`` installs nothing even as root (skips instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parent.parent / ".ci"
READY = "ready"
INSTALL = "install"
LOCK = Path(tempfile.gettempdir()) / f"tailor-tests-install-{os.getuid()}.lock"


@dataclass(frozen=True)
class Server:
    what: str  # as the skip line names it
    packages: str  # what apt-get installs
    script: str  # in .ci/ (or an absolute path)
    root_only: bool = False  # its test fixture starts daemons as root


SSHD = Server("OpenSSH server", "openssh-server", "install-sshd.sh")
SLURM = Server("Slurm", "slurm-wlm munge", "install-slurm.sh", root_only=True)
POSTGRES = Server("PostgreSQL", "postgresql", "install-postgres.sh")


def plan(server: Server, *, present: bool, root: bool, may_install: bool, apt: bool) -> str:
    """READY, INSTALL, or the one line that says why the tests needing ``server`` are skipped here.
    ``may_install``: root or passwordless sudo (and installing not switched off)."""
    if server.root_only and not root:
        return f"needs {server.what} run as root (the test cluster starts its daemons as root): run the suite as root"
    if present:
        return READY
    if not apt:
        return f"needs {server.what}: install {server.packages} (no apt-get here to do it)"
    if may_install:
        return INSTALL
    return f"needs {server.what}: run as root or `sudo apt-get install {server.packages}`"


@functools.cache
def may_install() -> bool:
    """Root, or passwordless sudo (what the .ci/install-*.sh scripts use), unless switched off."""
    if os.environ.get("TAILOR_TESTS_INSTALL", "1") == "0":
        return False
    if os.geteuid() == 0:
        return True
    if shutil.which("sudo") is None:
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=30).returncode == 0


def has_apt() -> bool:
    return shutil.which("apt-get") is not None


def need(server: Server, present: Callable[[], bool]) -> None:
    """Make ``server`` usable here (installing it if this user may), or skip the calling test in one line."""
    decision = plan(server, present=present(), root=os.geteuid() == 0, may_install=may_install(), apt=has_apt())
    if decision == READY:
        return
    if decision != INSTALL:
        pytest.skip(decision)
    with _machine_lock():
        if not present():  # another worker may have installed it while this one waited
            _install(server)
    if not present():
        pytest.fail(f"{server.what}: {server.script} ran but the server is still missing")


def _install(server: Server) -> None:
    proc = subprocess.run(["bash", str(CI / server.script)], capture_output=True, text=True, timeout=1200,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
        pytest.fail(f"{server.what}: {server.script} failed (exit {proc.returncode}): {tail}")


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    with open(LOCK, "a") as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
