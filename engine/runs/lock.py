"""One worker per run: an ``flock`` on ``<run>/lock`` held by the worker for its whole life.

Whoever changes a run's state from outside the worker (resume's requeue, a cancel of a run that has
not started, ``--repair``) takes the lock first, non-blocking, so two ``tailor resume`` started at the
same moment cannot both start a worker: the second finds the lock held and says by whom. A resume hands
its locked descriptor to the worker it starts (``TAILOR_RUN_LOCK_FD``), so there is no moment between
"requeued" and "worker running" in which a second resume could slip in.

``flock`` locks belong to the open file description, so they are released by the kernel when the last
process holding it exits, however it dies (SIGKILL included): a dead worker never leaves a stale lock.
The file holds the pid of the current holder, for the message only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from tailor.engine.errors import RunError

LOCK_NAME = "lock"
FD_ENV = "TAILOR_RUN_LOCK_FD"


class RunLocked(RunError):
    """Another process (a worker, or a resume that is starting one) holds the run's lock."""


def lock_path(run_path: Path) -> Path:
    return Path(run_path) / LOCK_NAME


def holder(run_path: Path) -> str:
    try:
        return lock_path(run_path).read_text().strip() or "?"
    except OSError:
        return "?"


def acquire(run_path: Path, *, what: str = "resumed") -> int:
    """Take the run's lock (non-blocking) and write our pid into it; return the descriptor.

    Raises RunLocked naming the holder when another process has it.
    """
    path = lock_path(run_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunLocked(f"run {Path(run_path).name} is already {what} by pid {holder(run_path)}") from None
    except BaseException:
        os.close(fd)
        raise
    write_holder(fd, os.getpid())
    return fd


def write_holder(fd: int, pid: int) -> None:
    with contextlib.suppress(OSError):  # a full disk must not stop the lock from working
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid}\n".encode(), 0)


def inherited() -> tuple[int | None, bool]:
    """``(fd, handed)``: the locked descriptor a resume or launch handed to this worker, and whether one
    was handed at all. Handed but not open here: a multi-GPU launcher (accelerate, torchrun) between
    the resume and this rank holds it for the whole job."""
    raw = os.environ.pop(FD_ENV, "")
    if not raw.isdigit():
        return None, False
    fd = int(raw)
    try:
        os.fstat(fd)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours already: a no-op that proves it
    except OSError:
        return None, True
    return fd, True


def is_locked(run_path: Path) -> bool:
    """True while a live worker (or a starting resume) holds the run's lock."""
    path = lock_path(run_path)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def held(run_path: Path, *, what: str = "resumed") -> Iterator[int]:
    """``with held(run.path): ...`` - the lock for a short critical section (released at the end)."""
    fd = acquire(run_path, what=what)
    try:
        yield fd
    finally:
        os.close(fd)
