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
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) else None


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

    def read(self, max_bytes: int = 8 * 1024 * 1024) -> list[Event]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read(max_bytes)
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        out: list[Event] = []
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            seq = event.get("seq") if isinstance(event, dict) else None
            if isinstance(seq, int) and seq > self.after:
                self.after = seq
                out.append(event)
        return out


def iter_events(path: Path, after: int = 0) -> Iterator[Event]:
    """Every complete event with ``seq > after``, up to the current end of the file."""
    cursor = EventCursor(path, after)
    while True:
        before = cursor.offset
        yield from cursor.read()
        if cursor.offset == before:
            return


def read_events(path: Path, after: int = 0) -> list[Event]:
    return list(iter_events(path, after))
