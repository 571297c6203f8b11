"""Disk space: a full disk is named ("disk full writing PATH (N MB free)"), never a silent death.

A worker keeps a small reserve file in its run directory; when a write fails for lack of space it
deletes the reserve, which leaves room for the traceback, the last event and the final status. Before
a launch, ``check_free`` refuses a run whose checkpoints cannot fit (their size is estimated one floor up,
engine/memory_estimate.py ``check_launch_space``).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from tailor.engine.errors import RunError

RESERVE_NAME = ".reserve"
RESERVE_BYTES = 1024 * 1024
#: Any run needs room for its events, logs and status beyond its checkpoints.
MIN_FREE = 4 * 1024 * 1024


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return -1


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 0 else "? MB"


def is_disk_full(exc: BaseException, where: Path | None = None) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(cur)
        if "No space left on device" in text:
            return True
        # torch.save reports a full disk as "PytorchStreamWriter failed writing file ..."
        if where is not None and "writ" in text and "fail" in text and 0 <= free_bytes(where) < 4 * RESERVE_BYTES:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def disk_message(exc: BaseException, where: Path | None = None) -> str | None:
    """``disk full writing PATH (N MB free); free space and resume`` for a full-disk error, else None."""
    if not is_disk_full(exc, where):
        return None
    path = getattr(exc, "filename", None) or where or "?"
    free = free_bytes(Path(str(path)) if path != "?" else Path(where or "."))
    return f"disk full writing {path} ({_mb(free)} free); free some space, then `tailor resume`"


def make_reserve(run_path: Path) -> None:
    """Hold ``RESERVE_BYTES`` in the run directory for the messages written when the disk fills."""
    path = Path(run_path) / RESERVE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < RESERVE_BYTES:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
    except OSError:
        path.unlink(missing_ok=True)  # no room even for the reserve: the first write will say so


def release_reserve(run_path: Path) -> None:
    (Path(run_path) / RESERVE_NAME).unlink(missing_ok=True)


def check_free(path: Path, need: int, what: str) -> None:
    """Refuse (RunError) when the filesystem holding ``path`` has less than ``need`` bytes free."""
    free = free_bytes(path)
    if 0 <= free < need:
        raise RunError(
            f"not enough disk space in {path}: {what} need about {_mb(need)}, {_mb(free)} free; "
            f"free some space or lower train.save_total_limit"
        )


def wrap_disk_full(exc: OSError, path: Path) -> RunError | None:
    """A one-line RunError for a full disk hit by a command (resume, launch), or None."""
    msg = disk_message(exc, path)
    return RunError(msg) if msg else None
