"""A lazy index of a line-based file (JSONL, plain text): row -> byte offset, built in a background thread.

Toolong-style: the file is scanned in 16 MB chunks for newlines (numpy does the scan), so the first page can
be shown after the first chunk and the whole 0.5 GB file is indexed in about a second. Rows are read with
``os.pread`` on demand and parsed into a small LRU cache. We read with ``pread`` rather than keep an
``mmap``: a mapping touched by the scan would count every page of the file in the process's resident memory.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

CHUNK = 16 * 1024 * 1024
FIRST_CHUNK = 256 * 1024
MAX_LINE = 64 * 1024 * 1024
FIRST_PAGE_GRACE = 0.25  # seconds a compressed file's unpacking waits after its first chunk  # a "line" longer than this is not a data row


class LineIndex:
    """Row offsets of non-blank lines. ``len()`` grows while ``build()`` runs; ``done`` says when it ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._fd = os.open(self.path, os.O_RDONLY)
        self._starts: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []
        self._flat: tuple[np.ndarray, np.ndarray] | None = None
        self._count = 0
        self.scanned = 0
        self.done = False
        self.error: str | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    # -- building -------------------------------------------------------------------------------------
    def start(self) -> LineIndex:
        """Build the index in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.build, name=f"index {self.path.name}", daemon=True)
            self._thread.start()
        return self

    def build(self) -> None:
        try:
            self._scan()
            self._arrays()  # flatten once here, so the first jump after indexing does not pay for it
        except OSError as exc:
            self.error = f"{self.path}: cannot read: {exc.strerror or exc}"
        finally:
            with self._changed:
                self.done = True
                self._changed.notify_all()

    def _chunks(self) -> Iterator[bytes]:
        """The file's bytes in order: a small first read so the first page shows at once, then big ones."""
        pos, size = 0, FIRST_CHUNK
        while pos < self.size:
            chunk = os.pread(self._fd, size, pos)
            size = CHUNK
            if not chunk:
                return
            yield chunk
            pos += len(chunk)
            self.scanned = pos

    def _scan(self) -> None:
        pos = 0
        line_start = -1
        line_no = 1
        for chunk in self._chunks():
            if line_start < 0:
                line_start = len(codecs.BOM_UTF8) if chunk.startswith(codecs.BOM_UTF8) else 0
            arr = np.frombuffer(chunk, dtype=np.uint8)
            newlines = np.flatnonzero(arr == 10).astype(np.int64) + pos
            if len(newlines):
                starts = np.empty(len(newlines), dtype=np.int64)
                starts[0] = line_start
                starts[1:] = newlines[:-1] + 1
                numbers = np.arange(line_no, line_no + len(newlines), dtype=np.int64)
                keep = self._non_blank(starts, newlines, arr, pos)
                self._append(starts[keep], numbers[keep])
                line_start = int(newlines[-1]) + 1
                line_no += len(newlines)
            pos += len(chunk)
            if self.done:  # closed while scanning
                return
        if 0 <= line_start < pos:  # the last line has no newline
            tail = os.pread(self._fd, min(pos - line_start, 4096), line_start)
            if tail.strip():
                self._append(np.array([line_start], dtype=np.int64), np.array([line_no], dtype=np.int64))

    @staticmethod
    def _non_blank(starts: np.ndarray, ends: np.ndarray, arr: np.ndarray, base: int) -> np.ndarray:
        """Lines with something besides whitespace (the readers skip blank lines too)."""
        length = ends - starts
        keep = length > 0
        # short lines may be only spaces or "\r": check those few one by one (a long line started in an
        # earlier chunk is never blank)
        for i in np.flatnonzero((length > 0) & (length <= 8) & (starts >= base)):
            a = int(starts[i]) - base
            keep[i] = bool(arr[a : a + int(length[i])].tobytes().strip())
        return keep

    def _append(self, starts: np.ndarray, numbers: np.ndarray) -> None:
        if not len(starts):
            return
        with self._changed:
            self._starts.append(starts)
            self._lines.append(numbers)
            self._count += len(starts)
            self._flat = None
            self._changed.notify_all()

    def wait(self, rows: int | None = None, timeout: float | None = None) -> bool:
        """Block until ``rows`` rows are indexed (or indexing ends); True when they are."""
        with self._changed:
            self._changed.wait_for(lambda: self.done or (rows is not None and self._count >= rows), timeout)
            return self.done if rows is None else self._count >= rows

    @property
    def progress(self) -> float:
        return 1.0 if self.done or not self.size else self.scanned / self.size

    def __len__(self) -> int:
        return self._count

    # -- reading --------------------------------------------------------------------------------------
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._flat is None or len(self._flat[0]) != self._count:
                starts = np.concatenate(self._starts) if self._starts else np.empty(0, np.int64)
                lines = np.concatenate(self._lines) if self._lines else np.empty(0, np.int64)
                self._starts, self._lines = [starts], [lines]
                self._flat = (starts, lines)
            return self._flat

    def line_number(self, row: int) -> int:
        return int(self._arrays()[1][row])

    def raw(self, row: int) -> bytes:
        """The bytes of one row, without its line ending."""
        starts = self._arrays()[0]
        start = int(starts[row])
        end = int(starts[row + 1]) if row + 1 < len(starts) else None
        if end is None:
            data = self._read_to_newline(start)
        else:
            data = os.pread(self._fd, end - start, start)
            nl = data.find(b"\n")  # blank lines between rows were skipped: stop at the first newline
            data = data if nl < 0 else data[:nl]
        return data.rstrip(b"\r")

    def raw_block(self, start: int, stop: int) -> list[bytes]:
        """The bytes of rows ``start..stop-1`` with one read."""
        starts = self._arrays()[0]
        if start >= stop:
            return []
        if stop < len(starts):
            end = int(starts[stop])
        else:
            last = int(starts[stop - 1])
            end = last + len(self._read_to_newline(last)) + 1
        base = int(starts[start])
        data = os.pread(self._fd, end - base, base)
        out = []
        for j in range(start, stop):
            a = int(starts[j]) - base
            nl = data.find(b"\n", a)
            out.append(data[a : nl if nl >= 0 else len(data)].rstrip(b"\r"))
        return out

    def _read_to_newline(self, start: int) -> bytes:
        out = b""
        pos = start
        while len(out) < MAX_LINE:
            chunk = os.pread(self._fd, 65536, pos)
            if not chunk:
                break
            nl = chunk.find(b"\n")
            if nl >= 0:
                return out + chunk[:nl]
            out += chunk
            pos += len(chunk)
        return out

    def row_at_offset(self, offset: int) -> int:
        """The row containing byte ``offset`` (the last row starting at or before it)."""
        starts = self._arrays()[0]
        return max(0, int(np.searchsorted(starts, offset, side="right")) - 1)

    def find(self, pattern: re.Pattern[bytes], from_row: int, *, backwards: bool = False) -> int | None:
        """The next row (after ``from_row``, or before it) whose raw bytes match ``pattern``; None if none."""
        starts = self._arrays()[0]
        if not len(starts):
            return None
        if backwards:
            return self._find_back(pattern, from_row, starts)
        pos = int(starts[from_row + 1]) if from_row + 1 < len(starts) else self.size
        overlap = 4096
        while pos < self.size:
            chunk = os.pread(self._fd, CHUNK + overlap, pos)
            if not chunk:
                break
            m = pattern.search(chunk)
            if m:
                return self.row_at_offset(pos + m.start())
            pos += CHUNK
        return None

    def _find_back(self, pattern: re.Pattern[bytes], from_row: int, starts: np.ndarray) -> int | None:
        end = int(starts[from_row]) if from_row < len(starts) else self.size
        while end > 0:
            begin = max(0, end - CHUNK)
            chunk = os.pread(self._fd, end - begin + 4096, begin)[: end - begin + 4096]
            hits = [m.start() for m in pattern.finditer(chunk) if begin + m.start() < end]
            if hits:
                return self.row_at_offset(begin + hits[-1])
            end = begin
        return None

    def close(self) -> None:
        self.done = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self._fd)


class StreamIndex(LineIndex):
    """A LineIndex over a compressed file (``.jsonl.gz``, ``.jsonl.zst``): a background thread decompresses
    it into an unlinked temporary file and indexes the lines as they come, so the first page shows after
    the first 256 KB are unpacked, whatever the file's size."""

    def __init__(self, path: str | Path) -> None:
        import tempfile

        self.path = Path(path)
        self.compressed_size = self.path.stat().st_size
        self._tmp = tempfile.TemporaryFile(prefix="tailor-unpacked-")  # noqa: SIM115 (closed in close())
        super().__init__(self.path)
        os.close(self._fd)
        self._fd = self._tmp.fileno()
        self.size = 0
        self._raw_pos = 0

    def _chunks(self) -> Iterator[bytes]:
        from tailor.engine.data.compressed import bad_stream, stream_errors

        with self.path.open("rb") as raw:
            try:
                for n, chunk in enumerate(_decompressed(self.path, raw)):
                    os.pwrite(self._fd, chunk, self.size)
                    self.size += len(chunk)
                    self.scanned = raw.tell()
                    yield chunk
                    if n == 0:  # the first page is indexed: let the UI read and paint it before unpacking on
                        time.sleep(FIRST_PAGE_GRACE)
            except stream_errors() as exc:
                self.error = str(bad_stream(self.path, exc))

    @property
    def progress(self) -> float:
        return 1.0 if self.done or not self.compressed_size else min(0.99, self.scanned / self.compressed_size)

    def close(self) -> None:
        self.done = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._tmp.close()  # closes self._fd, once


def _decompressed(path: Path, raw) -> Iterator[bytes]:  # raw: an open binary file
    """The decompressed bytes of ``raw`` in chunks: a small first one (the first page), then large ones.

    gzip goes through ``zlib`` directly with 1 MB reads: zlib releases the GIL while inflating, where
    ``gzip.GzipFile`` runs a Python loop per 8 KB and would starve the UI thread.
    """
    import zlib

    from tailor.engine.data.records import compression_of

    if compression_of(path) == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        size = FIRST_CHUNK
        while chunk := reader.read(size):
            yield chunk
            size = CHUNK
        return
    inflate = zlib.decompressobj(31)
    fed = False  # whether the current gzip member has been given any bytes
    size = FIRST_CHUNK // 4
    while data := raw.read(size):
        size = 1 << 20
        while data:
            out = inflate.decompress(data)
            fed = True
            if out:
                yield out
            if not inflate.eof:
                break
            data = inflate.unused_data  # a multi-member gzip file (concatenated .gz)
            inflate, fed = zlib.decompressobj(31), False
    if fed and not inflate.eof:
        raise EOFError("the compressed file ends early (a truncated download?)")


class RowCache:
    """A small thread-safe LRU of parsed rows."""

    def __init__(self, load: Callable[[int], object], size: int = 4096) -> None:
        self._load = load
        self._size = size
        self._items: OrderedDict[int, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: int) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = self._load(key)
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
