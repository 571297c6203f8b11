"""``events.jsonl``: append-only, one JSON object per line, each with a strictly increasing ``seq``.

Every event has ``seq`` (int), ``time`` (unix seconds) and ``type``; see docs/run-contract.md for the
types. Writers append whole lines with one ``write`` on an ``O_APPEND`` descriptor; readers only take
complete lines, skip lines that do not parse (a line torn by a killed writer) and never go backwards
in ``seq``, so a reader can stop anywhere and resume from the last ``seq`` it holds.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Event = dict[str, Any]

_TAIL_CHUNK = 64 * 1024
#: A log message longer than this is cut by readers (a worker may log a whole traceback or worse).
MAX_MESSAGE = 16 * 1024
#: Step-bearing event types and the fields their contract requires.
_STEP_TYPES = ("metric", "checkpoint")


def check_event(obj: Any) -> Event | None:
    """The event if it fits the contract (docs/run-contract.md), else None.

    Readers skip (and count) what does not fit, so a malformed line written by a buggy plug-in or a
    hostile host never crashes a listing, ``tailor logs`` or the TUI. Metric values must be finite-sized
    numbers (NaN and infinities are kept: a diverged loss is information); a log message is cut to
    ``MAX_MESSAGE`` characters.
    """
    if not isinstance(obj, dict):
        return None
    seq, stamp, kind = obj.get("seq"), obj.get("time"), obj.get("type")
    if not _is_int(seq) or not isinstance(kind, str) or not _is_number(stamp):
        return None
    if kind in _STEP_TYPES and not _is_int(obj.get("step")):
        return None
    if kind == "metric":
        values = obj.get("values")
        if not isinstance(values, dict) or not values:
            return None
        if not all(isinstance(k, str) and _is_number(v) for k, v in values.items()):
            return None
    elif kind == "log":
        message = obj.get("message")
        if not isinstance(message, str):
            return None
        if len(message) > MAX_MESSAGE:
            obj = {**obj, "message": _cut(message)}
    elif kind == "status" and not isinstance(obj.get("state"), str):
        return None
    return obj


def _cut(message: str) -> str:
    return message[:MAX_MESSAGE] + f"... [{len(message) - MAX_MESSAGE} characters cut]"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**62) < value < 2**62


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return abs(value) < 2**1000  # float() of anything larger overflows in every formatter
    return True


def last_seq(path: Path) -> int:
    """The highest ``seq`` in the file (0 if none), reading only its tail."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            pos = size
            buf = b""
            while pos > 0:
                step = min(_TAIL_CHUNK, pos)
                pos -= step
                fh.seek(pos)
                buf = fh.read(step) + buf
                for line in reversed(buf.split(b"\n")[1 if pos > 0 else 0 :]):
                    seq = _seq_of(line)
                    if seq is not None:
                        return seq
            return 0
    except FileNotFoundError:
        return 0


def _seq_of(line: bytes) -> int | None:
    line = line.strip()
    if not line:
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    event = check_event(obj)
    return event["seq"] if event is not None else None


class EventWriter:
    """Appends events with the next ``seq``. Thread-safe; one writer process per run at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seq = last_seq(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        # A writer killed mid-line leaves a torn line: end it so the next event starts on its own line.
        size = os.fstat(self._fd).st_size
        if size:
            with open(self.path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def emit(self, type: str, **fields: Any) -> Event:
        message = fields.get("message")
        if isinstance(message, str) and len(message) > MAX_MESSAGE:  # one event stays one readable line
            fields["message"] = _cut(message)
        with self._lock:
            self._seq += 1
            event = {"seq": self._seq, "time": round(time.time(), 3), "type": type, **fields}
            os.write(self._fd, (json.dumps(event, default=_jsonable, allow_nan=True) + "\n").encode())
            return event

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    return str(value)


class EventCursor:
    """Incremental reader: ``read()`` returns the complete new events with ``seq > after``."""

    def __init__(self, path: Path, after: int = 0) -> None:
        self.path = Path(path)
        self.after = after
        self.offset = 0
        #: Complete lines skipped because they did not parse or did not fit the contract.
        self.skipped = 0

    def read(self, max_bytes: int = 8 * 1024 * 1024) -> list[Event]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read(max_bytes)
                end = chunk.rfind(b"\n")
                if end < 0 and len(chunk) == max_bytes:
                    # One line longer than a whole read: skip it, or the cursor would stall here forever.
                    skip = self._skip_line(fh)
                    self.offset += skip
                    self.skipped += skip > 0
                    return []
        except FileNotFoundError:
            return []
        if end < 0:
            return []
        self.offset += end + 1
        out: list[Event] = []
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                event = check_event(json.loads(line))
            except (ValueError, RecursionError):
                event = None
            if event is None:
                self.skipped += 1
                continue
            if event["seq"] > self.after:
                self.after = event["seq"]
                out.append(event)
        return out

    def _skip_line(self, fh: Any) -> int:
        """Bytes from the current offset to just past the next newline (or 0 if the line is unfinished)."""
        fh.seek(self.offset)
        skipped = 0
        while chunk := fh.read(1024 * 1024):
            nl = chunk.find(b"\n")
            if nl >= 0:
                return skipped + nl + 1
            skipped += len(chunk)
        return 0


def iter_events(path: Path, after: int = 0) -> Iterator[Event]:
    """Every complete event with ``seq > after``, up to the current end of the file."""
    cursor = EventCursor(path, after)
    while True:
        before = cursor.offset
        yield from cursor.read()
        if cursor.offset == before:
            return


def scan_events(path: Path) -> Iterator[Event]:
    """Every valid event in file order, whatever its seq (an injected line with a huge seq must not
    hide the worker's own later events from a resume's "already logged" scan or a repair)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, the generator may stop early
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            if len(line) > 8 * 1024 * 1024 or not line.endswith(b"\n"):
                continue
            try:
                event = check_event(json.loads(line))
            except (ValueError, RecursionError):
                continue
            if event is not None:
                yield event


def read_events(path: Path, after: int = 0) -> list[Event]:
    return list(iter_events(path, after))
