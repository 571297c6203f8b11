"""A real PostgreSQL server for tests (Debian's postgresql packages): ``initdb`` in a temporary directory,
listening on 127.0.0.1 at a free port, with a database ``studies`` owned by a role ``tailor`` whose password
is random. initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` system user.

Superuser access is over the cluster's own Unix socket (trust); TCP clients must give a password (scram).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DB = "studies"
ROLE = "tailor"


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


def postgres_installed() -> bool:
    return bool(pg_bin("initdb") and pg_bin("pg_ctl") and pg_bin("psql"))


def postgres_available() -> str | None:
    """None when a test server can start here, else why not (one line)."""
    if not postgres_installed():
        return "PostgreSQL missing: run .ci/install-postgres.sh (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and no 'postgres' user to own the test cluster (initdb refuses root)"
    return None


class LocalPostgres:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tailor-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.password = secrets.token_urlsafe(18)
        self.owner = "postgres" if os.geteuid() == 0 else None

    def url(self, password: str | None = None, driver: str = "postgresql+psycopg") -> str:
        auth = f"{ROLE}:{password}" if password else ROLE
        return f"{driver}://{auth}@127.0.0.1:{self.port}/{DB}"

    def passfile(self, path: Path) -> Path:
        """A libpq password file (0600) for this server: PGPASSFILE=path."""
        path.write_text(f"127.0.0.1:{self.port}:{DB}:{ROLE}:{self.password}\n")
        path.chmod(0o600)
        return path

    def start(self, timeout: float = 60.0) -> LocalPostgres:
        if self.owner:
            user = pwd.getpwnam(self.owner)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._as_owner([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._as_owner([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", opts,
                        "-w", "-t", str(int(timeout)), "start"])
        # The password goes to psql on stdin, never in an argument list.
        self.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}';\nCREATE DATABASE {DB} OWNER {ROLE};\n")
        return self

    def sql(self, script: str) -> str:
        out = self._as_owner([pg_bin("psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres",
                              "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-At"], stdin=script)
        return out

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(self._argv([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def _argv(self, argv: list[str | None]) -> list[str]:
        args = [str(a) for a in argv]
        return ["runuser", "-u", self.owner, "--", *args] if self.owner else args

    def _as_owner(self, argv: list[str | None], stdin: str | None = None) -> str:
        proc = subprocess.run(self._argv(argv), input=stdin, capture_output=True, text=True, timeout=120,
                              cwd=self.root)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{Path(argv[0] or '?').name}: {proc.stderr.strip()} {tail}")
        return proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
