"""Warm workers: a parent with the training stack already imported forks each local worker.

A worker spends about 6 s of CPU importing torch, transformers, TRL, PEFT and datasets before its first
step (``python -X importtime``, 2-core machine), on every launch, resume, search trial and evaluation.
When a second local launch comes within ``warm_workers_idle_s`` seconds (setting, default 600; 0 turns
this off) of a first, the launcher starts a warm parent for this interpreter, code version and
environment: ``python -m tailor.engine.worker.warm SOCKET LOCK IDLE``. It imports the stack once,
listens on a private Unix socket in the live-worker registry (engine/worker/threads.py: a 0700 folder
of this user) and leaves after that many seconds without a launch. Each later launch asks it over the
socket; it forks a child that becomes the worker as a fresh process would (its own session and process
group, the run folder as cwd, the launch's environment, stdin from /dev/null, stdout/stderr appended to
the run's logs, the run's lock descriptor passed over the socket) and answers with the child's pid; in
``ps`` the worker shows the parent's command line. Anything unexpected (no parent yet, a parent that
died, another environment) and the launch starts a fresh process as before: warm is only ever faster,
never different (tests/train/test_warm_workers.py: same losses, cancel, resume, the lock).

Secrets in a launch's environment travel over that socket, never in argv: the folder must be this
user's alone (0700, owned by us) or warm workers are off, and each end checks the other's uid
(``SO_PEERCRED``).

Why forking after the imports is safe here: the parent never runs a model, so no OpenMP or tokenizer
thread pool exists yet (the same state in which torch's own DataLoader forks its workers), and each
child reseeds Python's, NumPy's and torch's global generators as a fresh process would. The parent
serves only launches whose environment equals its own (apart from variables that only Tailor and test
runners read, at call time): libraries such as huggingface_hub read theirs once, at import. A change to
Tailor's code gives another key, so a parent never runs stale code.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

#: Variables that do not have to match: Tailor reads its own (``TAILOR_*``) at call time; the thread
#: counts are applied by every worker itself (engine/worker/threads.py: ``torch.set_num_threads``); a few
#: are set by the stack's own imports (so a worker that starts workers passes them on); the rest are set
#: per test, per SSH session or per shell and read by no library the parent imports.
_IGNORED_PREFIXES = ("TAILOR_", "PYTEST_", "SSH_", "TEXTUAL_")  # Textual: the TUI's, never a worker's
_IGNORED = {
    "OMP_NUM_THREADS", "MKL_NUM_THREADS",
    "TORCHINDUCTOR_CACHE_DIR", "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK", "_MLFLOW_TELEMETRY_SESSION_ID",
    "HF_XET_HIGH_PERFORMANCE",  # lm-eval's import sets it (a download speed switch)
    "_", "PWD", "OLDPWD", "SHLVL", "TERM", "COLUMNS", "LINES", "PS1",
}
_CONNECT_TIMEOUT_S = 5.0
#: What a worker imports before its first step, whatever its kind.
_PRELOAD = ("torch", "transformers", "peft", "datasets", "accelerate", "trl")
_PRELOAD_NAMES = ("SFTTrainer", "SFTConfig", "DPOTrainer", "DPOConfig", "GRPOTrainer", "KTOTrainer")


#: The parent's own working directory, which ``python -m`` put first on its ``sys.path``.
_PARENT_CWD = os.getcwd()


def comparable_env(env: dict[str, str]) -> dict[str, str]:
    """The part of a launch environment a warm parent must share (see the module docstring)."""
    return {k: v for k, v in env.items() if k not in _IGNORED and not k.startswith(_IGNORED_PREFIXES)}


def _code_version() -> str:
    """Size and mtime of every Tailor module: an edited or upgraded checkout is another version."""
    from tailor import engine

    root = Path(engine.__file__).resolve().parent
    digest = hashlib.sha256(str(root).encode())
    for path in sorted(root.rglob("*.py")):
        with contextlib.suppress(OSError):
            st = path.stat()
            digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def key(env: dict[str, str]) -> str:
    """Which warm parent may serve a launch: this interpreter, this code, this environment."""
    digest = hashlib.sha256()
    digest.update(f"{sys.executable}\0{sys.prefix}\0{sys.version}\0{_code_version()}\0".encode())
    digest.update(json.dumps(sorted(comparable_env(env).items())).encode())
    return digest.hexdigest()[:24]


def _paths(k: str) -> tuple[Path, Path]:
    """The parent's socket and lock, in the user's private registry folder; OSError if that folder is not
    ours alone (a /tmp folder another user made first could swap the socket and read a launch's secrets)."""
    from tailor.engine.worker.threads import registry_dir

    folder = registry_dir()
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{folder} is not private to this user")
    return folder / f"warm-{k}.sock", folder / f"warm-{k}.lock"


def _same_user(conn: socket.socket) -> bool:
    """The process at the other end of the socket runs as this user (Linux ``SO_PEERCRED``)."""
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):  # no peer credentials on this platform: no warm workers either
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def idle_seconds() -> float:
    from tailor.engine.config import settings

    try:
        return float(settings().warm_workers_idle_s)
    except Exception:  # a broken config is reported by whoever reads it next, not by a launch's fast path
        return 0.0


def is_plain_worker(command: list[str]) -> bool:
    """Only ``<this python> -m tailor.engine.worker RUN [--resume]``: a wrapped command (nice, a
    container, torchrun for several GPUs) or another interpreter starts as a fresh process."""
    return (
        len(command) >= 4
        and os.path.abspath(command[0]) == os.path.abspath(sys.executable)
        and command[1:3] == ["-m", "tailor.engine.worker"]
    )


def spawn(command: list[str], run_path: Path, env: dict[str, str], lock_fd: int | None) -> int | None:
    """Fork the worker from a warm parent: its pid, or None (start it fresh; a parent is started for the
    next launch if none is running). ``env``: the worker's whole environment, without the lock variable."""
    if not is_plain_worker(command):
        return None
    idle = idle_seconds()
    if idle <= 0:
        return None
    try:
        k = key(env)
        sock_path, lock_path = _paths(k)
    except OSError:
        return None
    pid = _ask(sock_path, command[3:], run_path, env, lock_fd)
    if pid is None and _second_cold_launch(sock_path.with_suffix(".want"), idle):
        _start_parent(sock_path, lock_path, env, idle)
    return pid


def _second_cold_launch(marker: Path, idle: float) -> bool:
    """A parent costs more CPU than one fresh worker: start it only when a second launch with this key
    comes within ``idle`` seconds of the first (a search, a resume, the next run), not for one-offs."""
    try:
        if time.time() - marker.stat().st_mtime <= idle:
            marker.unlink(missing_ok=True)
            return True
    except OSError:
        pass
    with contextlib.suppress(OSError):
        marker.touch(mode=0o600)
        os.utime(marker)
    return False


def _ask(sock_path: Path, argv: list[str], run_path: Path, env: dict[str, str], lock_fd: int | None) -> int | None:
    request = json.dumps({
        "argv": argv, "cwd": str(run_path), "env": env,
        "stdout": str(run_path / "stdout.log"), "stderr": str(run_path / "stderr.log"),
    }).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(_CONNECT_TIMEOUT_S)
            conn.connect(str(sock_path))
            if not _same_user(conn):
                return None
            socket.send_fds(conn, [len(request).to_bytes(8, "big")], [lock_fd] if lock_fd is not None else [])
            conn.sendall(request)
            reply = json.loads(_recv_all(conn) or b"{}")
    except (OSError, ValueError):
        return None
    pid = reply.get("pid")
    return pid if isinstance(pid, int) and pid > 0 else None


def _recv_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _start_parent(sock_path: Path, lock_path: Path, env: dict[str, str], idle: float) -> None:
    """Start a parent in the background unless one is running or starting (it holds ``lock_path``)."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return  # one is starting, or serving and busy: the next launch asks it
    os.close(fd)  # the parent takes it itself; two starting at once: the second leaves at once
    with contextlib.suppress(OSError):
        subprocess.Popen(
            [sys.executable, "-m", "tailor.engine.worker.warm", str(sock_path), str(lock_path), str(idle)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/", env=env, start_new_session=True, close_fds=True,
        )


# -- the parent ------------------------------------------------------------------------------------------

def serve(sock_path: Path, lock_path: Path, idle: float) -> int:
    os.umask(0o077)
    lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another parent has this key
    os.set_inheritable(lock_fd, False)
    before = dict(os.environ)
    own_env = comparable_env(before)
    _preload()
    # What the imports themselves set (torch sets a few): a fresh worker has them too, after its imports.
    added = {k: v for k, v in os.environ.items() if before.get(k) != v}
    with contextlib.suppress(FileNotFoundError):
        sock_path.unlink()  # a parent that died left it: nobody listens there
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(8)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers: they are not ours to wait for
    last = time.monotonic()
    try:
        while True:
            server.settimeout(max(0.1, idle - (time.monotonic() - last)))
            try:
                conn, _ = server.accept()
            except TimeoutError:
                if time.monotonic() - last >= idle:
                    return 0
                continue
            last = time.monotonic()
            with conn:
                if _same_user(conn):
                    _serve_one(conn, server, own_env, added)
    finally:  # only the parent gets here: a forked worker leaves through os._exit
        with contextlib.suppress(OSError):
            sock_path.unlink()
        with contextlib.suppress(OSError):
            lock_path.unlink()
        server.close()


def _preload() -> None:
    import importlib

    for name in _PRELOAD:
        with contextlib.suppress(Exception):
            module = importlib.import_module(name)
            if name == "trl":
                for attr in _PRELOAD_NAMES:
                    with contextlib.suppress(Exception):
                        getattr(module, attr)
    from tailor.engine import kinds

    for kind in kinds.all_kinds():
        with contextlib.suppress(Exception):
            kind.runner_function()
    import tailor.engine.worker.__main__  # noqa: F401


def _serve_one(conn: socket.socket, server: socket.socket, own_env: dict[str, str], added: dict[str, str]) -> None:
    fds: list[int] = []
    try:
        conn.settimeout(_CONNECT_TIMEOUT_S)
        head, fds, _flags, _addr = socket.recv_fds(conn, 8, 1)
        size = int.from_bytes(head, "big")
        body = b""
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise OSError("short request")
            body += chunk
        request = json.loads(body)
        if comparable_env(request["env"]) != own_env:
            conn.sendall(json.dumps({"why": "another environment"}).encode())
            return
        pid = os.fork()
        if pid == 0:
            _become_worker({**request, "env": {**request["env"], **added}}, fds[0] if fds else None, conn, server)  # never returns
        conn.sendall(json.dumps({"pid": pid}).encode())
    except (OSError, ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            conn.sendall(b"{}")
    finally:
        for fd in fds:  # the worker has its own copy of the lock: the parent must not keep the run locked
            with contextlib.suppress(OSError):
                os.close(fd)


def _become_worker(request: dict, lock_fd: int | None, conn: socket.socket, server: socket.socket) -> None:
    """In the forked child: everything a fresh ``spawn_worker`` process would have, then the worker's main."""
    code = 1
    try:
        conn.close()
        server.close()
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        from tailor.engine.worker.__main__ import WARM_PARENT_ENV, main

        os.environ[WARM_PARENT_ENV] = str(os.getppid())  # the worker logs it, then drops it
        if lock_fd is not None:
            from tailor.engine.runs.lock import FD_ENV

            os.environ[FD_ENV] = str(lock_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for target, path in ((1, request["stdout"]), (2, request["stderr"])):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.dup2(fd, target)
            os.close(fd)
        os.close(null)
        _reseed()
        sys.argv = [sys.argv[0], *request["argv"]]
        if sys.path and sys.path[0] == _PARENT_CWD:  # `python -m` puts its working directory first
            sys.path[0] = request["cwd"]
        code = main(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        import atexit

        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # trackers flush at exit, as in a fresh process
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reseed() -> None:
    """Fresh global generators, as a new process would have (a run seeds its own before training)."""
    import random

    random.seed()
    with contextlib.suppress(Exception):
        import numpy

        numpy.random.seed()
    with contextlib.suppress(Exception):
        import torch

        torch.seed()


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])))
