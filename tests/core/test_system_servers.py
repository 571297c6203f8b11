"""The README's test command on a fresh machine: a system server the suite needs (OpenSSH, Slurm,
PostgreSQL) is installed when this user may (root or passwordless sudo), else the tests that need it are
skipped with one line naming the package (tests/servers.py) — never errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import servers
from servers import INSTALL, POSTGRES, READY, SLURM, SSHD, Server, need, plan

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("server", "present", "root", "may_install", "apt", "expected"),
    [
        (SSHD, True, False, False, True, READY),
        (SSHD, False, True, True, True, INSTALL),  # root
        (SSHD, False, False, True, True, INSTALL),  # passwordless sudo
        (POSTGRES, False, False, True, True, INSTALL),
        (SSHD, False, False, False, True, "needs OpenSSH server: run as root or `sudo apt-get install openssh-server`"),
        (POSTGRES, False, False, False, True, "needs PostgreSQL: run as root or `sudo apt-get install postgresql`"),
        (SSHD, False, True, True, False, "needs OpenSSH server: install openssh-server (no apt-get here to do it)"),
        (SLURM, False, True, True, True, INSTALL),
        (SLURM, True, True, True, True, READY),
        # The test cluster starts slurmd as root: installed or not, a user skips it (and installs nothing).
        (SLURM, True, False, True, True,
         "needs Slurm run as root (the test cluster starts its daemons as root): run the suite as root"),
        (SLURM, False, False, True, True,
         "needs Slurm run as root (the test cluster starts its daemons as root): run the suite as root"),
    ],
)
def test_install_or_skip_decision(server, present, root, may_install, apt, expected) -> None:
    assert plan(server, present=present, root=root, may_install=may_install, apt=apt) == expected


def test_a_missing_server_is_installed_once_by_its_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker, log = tmp_path / "installed", tmp_path / "runs.log"
    script = tmp_path / "install-fake.sh"
    script.write_text(f"echo ran >> {log}\ntouch {marker}\n")
    fake = Server("Fake server", "fake-server", str(script))
    monkeypatch.setattr(servers, "has_apt", lambda: True)
    monkeypatch.setattr(servers, "may_install", lambda: True)
    need(fake, marker.exists)
    need(fake, marker.exists)  # installed now: ready
    assert log.read_text() == "ran\n"

    script.write_text("echo 'E: Unable to locate package fake-server' >&2\nexit 100\n")
    broken = Server("Broken server", "fake-server", str(script))
    with pytest.raises(pytest.fail.Exception, match=r"^Broken server: .* failed \(exit 100\): E: Unable to locate"):
        need(broken, lambda: False)

    monkeypatch.setattr(servers, "may_install", lambda: False)  # no root, no sudo
    with pytest.raises(pytest.skip.Exception, match=r"^needs Broken server: run as root or `sudo apt-get install fake-server`$"):
        need(broken, lambda: False)


def test_the_ci_script_runs_the_readme_test_command() -> None:
    """`.ci/run` installs nothing itself: the README's command (the fixtures) does, on any machine."""
    readme = (REPO / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "pytest -n 2 --dist loadgroup" in line)
    ci = (REPO / ".ci" / "run").read_text()
    assert command.strip() in ci.splitlines()
    assert not [line for line in ci.splitlines() if ".ci/install-" in line and not line.startswith("#")]


@pytest.mark.ssh
def test_without_the_server_or_the_right_to_install_it_ssh_tests_skip_in_one_line(tmp_path: Path) -> None:
    """For real: one SSH test with no sshd (TAILOR_SSHD at a missing file) and installing switched off,
    as a user without root or sudo would run it: skipped with the line, not an error."""
    env = dict(os.environ, TAILOR_SSHD=str(tmp_path / "no-sshd"), TAILOR_TESTS_INSTALL="0")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--basetemp", str(tmp_path / "base"), "tests/ssh/test_trust_auth.py::test_unknown_host_needs_trust"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "1 skipped" in out and "error" not in out.lower(), out
    assert "needs OpenSSH server: run as root or `sudo apt-get install openssh-server`" in out
