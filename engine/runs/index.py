"""The runs index: a listing of a runs folder that reads each finished run's status once.

A workspace grows to thousands of runs (a few searches make that many), and all but a handful are
finished: their status never changes unless someone resumes or repairs them. The index keeps each
finished run's status with the identity of its file (inode, mtime, size: the file is only ever
replaced atomically, so any write gives a new identity). A listing then

* reads nothing of a finished run while the runs folder is unchanged (no run added or removed) and the
  folder was swept less than ``SWEEP_S`` ago: writers that rewrite a finished run's status (resume,
  repair) touch the runs folder (``rundir.touch_runs_dir``), and the sweep catches any other writer;
* otherwise stats each status file and reads only those whose identity changed;
* always reads the active runs (queued, running): their status moves, and whether their worker is
  still alive is judged at each listing.

A new process (``tailor runs``, the TUI starting) begins from the on-disk index beside the runs folder
(``.runs-index``): each finished run's status with its file's identity, written by the listing
before. It stats each status file and reads only the runs whose identity changed, so a finished run's
row is listed without opening its directory. A damaged or foreign index is ignored and written anew; it
is a cache and never the truth (deleting it costs one slower listing).

The order is that of ``Workspace.run_dirs``: by the status file's ctime.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tailor.engine.errors import RunError
from tailor.engine.fsutil import atomic_write_bytes
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

#: Seconds between two stats of every finished run's status file (a writer that did not touch the folder).
SWEEP_S = 30.0
#: A file or folder written less than this ago is not trusted to show its next change in its mtime (file
#: systems stamp times in coarse ticks): it is looked at again at the next listing.
RACY_NS = 1_000_000_000
#: The on-disk index, in the folder that holds the runs folder (a file in the runs folder would move its mtime).
INDEX_NAME = ".runs-index"
#: Seconds between two writes of the on-disk index by one long-lived listing (the TUI's) while runs finish.
SAVE_S = 30.0
#: The first line of the on-disk index; then one line per finished run: folder, inode, mtime_ns and size
#: of its status.json, ``via``, and the status as JSON (tab-separated: JSON holds no raw tab). One small
#: validation per line keeps the memory a whole-file parse would hold on to (56 MB for 10,000 runs).
INDEX_HEADER = b"tailor runs index 1\n"


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection while thousands of objects are made at once: its full passes over a large
    heap (the TUI's) cost more than the making, and free nothing here (10,000 runs: 0.4 s -> 0.26 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Entry:
    key: tuple[int, int, int]  # inode, mtime_ns, size of status.json
    ctime: float
    status: Status | None  # the status when the file says the run is finished; None: read it each time
    listed: Status | None = None  # the latest status listed (an active run's)
    line: bytes = b""  # ``status`` as a line of the on-disk index (made at the first write after it changed)


class RunIndex:
    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self._root = os.fspath(runs_dir)
        self._entries: dict[str, _Entry] = {}
        self._dir_key: tuple[int, int] | None = None  # mtime_ns, inode of the runs folder at the last scan
        self._swept = 0.0
        self._finished: list[tuple[float, str, Status]] | None = None  # (ctime, name, status), sorted
        self._finished_statuses: list[Status] = []  # the same, statuses only
        self._unsettled: set[str] = set()  # folders read at each listing: active runs, not-yet runs
        self.index_file = runs_dir.parent / INDEX_NAME
        self._loaded = False
        self._dirty = False  # a finished run's status came, changed or went since the index was written
        self._saved = -SAVE_S  # monotonic time of the last write

    def statuses(self, effective: Callable[[RunDir, Status], Status]) -> list[Status]:
        """Every run's status, oldest first; ``effective`` turns a status as read into the one to list
        (liveness applied, ``via`` set). A half-created or foreign folder is left out."""
        with gc_paused():
            return self._statuses(effective)

    def _statuses(self, effective: Callable[[RunDir, Status], Status]) -> list[Status]:
        try:
            st = os.stat(self.runs_dir)
        except OSError:
            self._entries.clear()
            self._finished = None
            return []
        dir_key = (st.st_mtime_ns, st.st_ino)
        now = time.monotonic()
        if not self._loaded:
            self._loaded = True
            self._load()
        if dir_key != self._dir_key or now - self._swept >= SWEEP_S:
            self._rescan()
            for name, entry in list(self._entries.items()):
                self._read(name, entry, effective, fresh=True)
            # A folder changed within the last RACY_NS may change again within the same clock tick
            # without its mtime moving: trust its key only once it is older than that.
            self._dir_key = dir_key if time.time_ns() - st.st_mtime_ns > RACY_NS else None
            self._swept = now
            self._finished = None
            unsettled = []
        else:  # only the active runs (and folders that were no run yet) are read again
            unsettled = [(name, self._entries[name]) for name in self._unsettled]
        live: list[tuple[float, str, Status]] = []
        for name, entry in unsettled:
            status = self._read(name, entry, effective, fresh=False)
            if entry.status is not None:
                self._finished = None  # it finished: it joins the finished ones
            elif status is not None:
                live.append((entry.ctime, name, status))
        if self._finished is None:
            self._unsettled = {name for name, entry in self._entries.items() if entry.status is None}
            self._finished = sorted((e.ctime, name, e.status) for name, e in self._entries.items() if e.status)
            self._finished_statuses = [status for _, _, status in self._finished]
            live = [(e.ctime, name, status) for name, e in self._entries.items()
                    if e.status is None and (status := e.listed) is not None]
        live.sort()
        if self._dirty and now - self._saved >= SAVE_S:
            self._save(now)
        if not live or not self._finished or live[0][:2] > self._finished[-1][:2]:
            # the usual case: the live runs wrote their status last; the finished ones keep their places
            return self._finished_statuses + [status for _, _, status in live]
        return [status for _, _, status in sorted(self._finished + live)]

    def _rescan(self) -> None:
        """Folders added and removed since the last scan; stale entries go."""
        try:
            names = {e.name for e in os.scandir(self.runs_dir) if e.is_dir(follow_symlinks=False)}
        except OSError:
            names = set()
        for name in list(self._entries):
            if name not in names:
                self._dirty |= self._entries.pop(name).status is not None
        for name in names - self._entries.keys():
            self._entries[name] = _Entry((0, 0, 0), 0.0, None)

    def _read(
        self, name: str, entry: _Entry, effective: Callable[[RunDir, Status], Status], *, fresh: bool
    ) -> Status | None:
        folder = f"{self._root}/{name}"  # plain strings: a listing stats thousands
        try:
            st = os.stat(f"{folder}/status.json")
        except OSError:  # not a run (yet): no status.json
            self._dirty |= entry.status is not None
            entry.key, entry.status, entry.listed = (0, 0, 0), None, None
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        entry.ctime = st.st_ctime
        if fresh and entry.status is not None and key == entry.key:
            return entry.status
        entry.key = key
        self._dirty |= entry.status is not None  # a finished one read again: its status changed
        run = RunDir(folder)
        try:
            on_file = run.listed_status()  # a corrupt status.json is listed as "corrupt"
        except RunError:
            entry.status = entry.listed = None
            return None
        status = entry.listed = effective(run, on_file)
        # Kept only when the file itself says finished: an active run whose worker died reads as failed
        # until its status is rewritten, and is judged again at each listing; a corrupt one until repaired.
        finished = on_file.state.terminal and on_file.state != RunState.CORRUPT
        settled = time.time_ns() - st.st_mtime_ns > RACY_NS
        entry.status = status if finished and settled else None
        entry.line = b""
        self._dirty |= entry.status is not None
        return status

    def _load(self) -> None:
        """Finished runs' statuses as the last listing (of any process) wrote them: each is listed as it is
        while its status file keeps that identity (``_read`` stats it). A line that does not parse is left
        out (that run's status file is read); an index of another version is ignored."""
        try:
            with open(self.index_file, "rb") as fh:
                if fh.readline() != INDEX_HEADER:
                    return
                lines = fh.readlines()
        except OSError:
            return
        for line in lines:
            try:
                name, ino, mtime_ns, size, via, text = line.split(b"\t", 5)
                status = Status.model_validate_json(text)
                key = (int(ino), int(mtime_ns), int(size))
                if status.run_id != name.decode() or not status.state.terminal or status.state == RunState.CORRUPT:
                    continue
                status.via = via.decode()  # not saved with the status (``exclude``)
            except ValueError:  # a torn or foreign line (ValidationError, UnicodeDecodeError are ValueErrors)
                continue
            self._entries[status.run_id] = _Entry(key, 0.0, status, line=line if line.endswith(b"\n") else b"")

    def _save(self, now: float) -> None:
        lines = [INDEX_HEADER]
        for name, entry in self._entries.items():
            if entry.status is None:
                continue
            if not entry.line:
                text = entry.status.model_dump_json(exclude_defaults=True)
                entry.line = f"{name}\t{entry.key[0]}\t{entry.key[1]}\t{entry.key[2]}\t{entry.status.via}\t{text}\n".encode()
            lines.append(entry.line)
        with contextlib.suppress(OSError):  # a read-only workspace: every listing reads the status files
            atomic_write_bytes(self.index_file, b"".join(lines))
        self._dirty, self._saved = False, now
