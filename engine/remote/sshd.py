"""A throwaway OpenSSH server on 127.0.0.1 for the tests and bench/remote.py.

It runs ``/usr/sbin/sshd -D -e`` as the current user with a temporary host key, an authorized client
key and a free port, so the SSH code is exercised against the real server, never a mock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = os.environ.get("TAILOR_SSHD", "/usr/sbin/sshd")


def sshd_available() -> bool:
    return Path(SSHD).is_file() and os.access(SSHD, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_key(path: Path, alg: str = "ssh-ed25519") -> Path:
    import asyncssh

    key = asyncssh.generate_private_key(alg)
    key.write_private_key(str(path))
    key.write_public_key(str(path) + ".pub")
    os.chmod(path, 0o600)
    return path


@dataclass
class LocalSSHD:
    root: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    #: Host key algorithm (a test of a key that changes type restarts with another).
    key_alg: str = "ssh-ed25519"
    #: $HOME of sessions (sshd's SetEnv), so a test of the default ``~/.tailor`` never touches the real one.
    home: Path | None = None

    @property
    def host_key(self) -> Path:
        return self.root / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        return self.root / "client_key"

    @property
    def user(self) -> str:
        import getpass

        return getpass.getuser()

    def setup(self, *, new_host_key: bool = True) -> LocalSSHD:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        if new_host_key or not self.host_key.exists():
            for p in (self.host_key, Path(f"{self.host_key}.pub")):
                p.unlink(missing_ok=True)
            write_key(self.host_key, self.key_alg)
        if not self.client_key.exists():
            write_key(self.client_key)
            shutil.copyfile(f"{self.client_key}.pub", self.root / "authorized_keys")
            os.chmod(self.root / "authorized_keys", 0o600)
        self.port = self.port or free_port()
        sftp = "internal-sftp"
        config = f"""
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {self.root / "sshd.pid"}
AuthorizedKeysFile {self.root / "authorized_keys"}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AcceptEnv LANG LC_*
Subsystem sftp {sftp}
LogLevel ERROR
MaxStartups 50
"""
        if self.home is not None:
            config += f"SetEnv HOME={self.home}\n"
        (self.root / "sshd_config").write_text(config)
        return self

    def start(self, timeout: float = 20.0) -> LocalSSHD:
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        log = open(self.root / "sshd.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.root / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not start on port {self.port}: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.kill_sessions()
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, *, new_host_key: bool = False) -> LocalSSHD:
        self.stop()
        self.setup(new_host_key=new_host_key)
        return self.start()

    def session_pids(self) -> list[int]:
        """The sshd processes serving connections: descendants of the listener that are sshd."""
        if not self.proc:
            return []
        children: dict[int, list[int]] = {}
        names: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            head, rest = stat.rsplit(")", 1)
            pid = int(entry.name)
            names[pid] = head.split("(", 1)[1]
            children.setdefault(int(rest.split()[1]), []).append(pid)
        out, todo = [], list(children.get(self.proc.pid, []))
        while todo:
            pid = todo.pop()
            if names.get(pid, "").startswith("sshd"):
                out.append(pid)
                todo += children.get(pid, [])
        return out

    def kill_sessions(self) -> int:
        """Drop every SSH connection abruptly, as a network failure would (SIGKILL their sshd)."""
        pids = self.session_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def known_hosts_line(self, hostname: str = "127.0.0.1") -> str:
        key = Path(f"{self.host_key}.pub").read_text().split()
        return f"[{hostname}]:{self.port} {key[0]} {key[1]}\n"

    def log_tail(self) -> str:
        try:
            return (self.root / "sshd.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""
