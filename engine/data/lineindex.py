"""A lazy, sparse index of a line-based file (JSONL, plain text): row -> byte offset, built in a background thread.

Toolong-style: the file is scanned in 16 MB chunks for newlines (numpy does the scan), so the first page can
be shown after the first chunk and a 0.5 GB file is indexed in about a second. The first chunk (256 KB) is
scanned in plain Python, so the first page does not wait for numpy's import either. The index is sparse: a
checkpoint (row, byte offset, line number) every ``STRIDE`` rows and at the first row starting in each
``SPAN`` bytes, so a 10M-row file costs ~16 MB of index instead of 160 MB, and any row is found with one read
of at most ``SPAN`` bytes from its checkpoint (the rows between two checkpoints all start in one span).
Rows are read with ``os.pread`` on demand and parsed into a small LRU cache. We read with ``pread`` rather
than keep an ``mmap``: a mapping touched by the scan would count every page of the file in the process's
resident memory.

A row is a line that is not blank: longer than 8 bytes, or with something besides whitespace (the readers
skip blank lines too; checking only the short lines keeps the scan in numpy).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import threading
import time
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

CHUNK = 16 * 1024 * 1024
FIRST_CHUNK = 256 * 1024
MAX_LINE = 64 * 1024 * 1024  # a "line" longer than this is not a data row (it is read only this far)
FIRST_PAGE_GRACE = 0.25  # seconds a compressed file's unpacking waits after its first chunk
STRIDE = 16  # a checkpoint every STRIDE rows ...
SPAN = 64 * 1024  # ... and at the first row starting in each SPAN bytes
SHORT = 8  # lines up to this many bytes are checked for being blank; longer ones are rows


def is_row(line: bytes) -> bool:
    """Whether a line (without its newline) is a row rather than a blank line."""
    return len(line) > SHORT or bool(line.strip())


class LineIndex:
    """Rows (non-blank lines) of a file. ``len()`` grows while ``build()`` runs; ``done`` says when it ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._fd = os.open(self.path, os.O_RDONLY)
        # checkpoints: row, offset and line number; they only grow, so a reader that saw ``_n`` of them
        # can use those without holding the lock
        self._cp_rows, self._cp_offs, self._cp_lines = array("q"), array("q"), array("q")
        self._n = 0
        self._count = 0
        self._end = 0  # where the line after the last indexed row starts (the end of the indexed bytes)
        self._bucket = -1  # the SPAN bucket of the last indexed row
        self.scanned = 0
        self.done = False
        self.error: str | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._blocks: OrderedDict[tuple[int, int], tuple[list[int], list[int]]] = OrderedDict()

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
                line_start, line_no = self._scan_first(chunk, line_start, line_no)
            else:
                line_start, line_no = self._scan_chunk(chunk, pos, line_start, line_no)
            pos += len(chunk)
            if self.done:  # closed while scanning
                return
        if 0 <= line_start < pos and is_row(os.pread(self._fd, SHORT + 1, line_start)):  # no final newline
            self._add([line_start], [line_no], pos)

    def _scan_first(self, chunk: bytes, line_start: int, line_no: int) -> tuple[int, int]:
        """The first chunk, in plain Python (small): where the next line starts, and its number."""
        starts, numbers = [], []
        nl = chunk.find(b"\n")
        while nl >= 0:
            if is_row(chunk[line_start:nl]):
                starts.append(line_start)
                numbers.append(line_no)
            line_start, line_no = nl + 1, line_no + 1
            nl = chunk.find(b"\n", line_start)
        self._add(starts, numbers, line_start)
        return line_start, line_no

    def _scan_chunk(self, chunk: bytes, pos: int, line_start: int, line_no: int) -> tuple[int, int]:
        """A chunk at byte ``pos``, newlines found by numpy: where the next line starts, and its number."""
        import numpy as np

        arr = np.frombuffer(chunk, dtype=np.uint8)
        newlines = np.flatnonzero(arr == 10).astype(np.int64) + pos
        if not len(newlines):  # no line ends here, but the file grew (a search may be waiting for the bytes)
            with self._changed:
                self._changed.notify_all()
            return line_start, line_no
        starts = np.empty(len(newlines), dtype=np.int64)
        starts[0] = line_start
        starts[1:] = newlines[:-1] + 1
        length = newlines - starts
        keep = length > SHORT
        for i in np.flatnonzero((length > 0) & (length <= SHORT)):
            a, n = int(starts[i]), int(length[i])
            # a short line begun in the previous chunk is read again (it is at most SHORT bytes)
            keep[i] = is_row(chunk[a - pos : a - pos + n] if a >= pos else os.pread(self._fd, n, a))
        starts = starts[keep]
        numbers = np.arange(line_no, line_no + len(newlines), dtype=np.int64)[keep]
        end = int(newlines[-1]) + 1
        if not len(starts):
            self._publish(0, [], [], [], self._bucket, end)
            return end, line_no + len(newlines)
        # checkpoints: every STRIDE-th row, and each row that starts a new SPAN bucket
        rows = np.arange(self._count, self._count + len(starts), dtype=np.int64)
        buckets = starts // SPAN
        previous = np.empty_like(buckets)
        previous[0] = self._bucket
        previous[1:] = buckets[:-1]
        mark = np.flatnonzero((rows % STRIDE == 0) | (buckets != previous))
        cps = (rows[mark].tolist(), starts[mark].tolist(), numbers[mark].tolist())
        self._publish(len(starts), *cps, int(buckets[-1]), end)
        return end, line_no + len(newlines)

    def _add(self, starts: Sequence[int], numbers: Sequence[int], end: int) -> None:
        """Index rows at ``starts`` (line ``numbers``), a few; ``end``: where the indexed bytes now end."""
        rows, offs, lines = [], [], []
        bucket = self._bucket
        for k, (start, number) in enumerate(zip(starts, numbers, strict=True)):
            if (self._count + k) % STRIDE == 0 or start // SPAN != bucket:
                rows.append(self._count + k)
                offs.append(start)
                lines.append(number)
            bucket = start // SPAN
        self._publish(len(starts), rows, offs, lines, bucket, end)

    def _publish(
        self, added: int, rows: list[int], offs: list[int], lines: list[int], bucket: int, end: int
    ) -> None:
        """Make ``added`` rows, their checkpoints and the new end of the indexed bytes visible to readers at
        once (and wake those who wait)."""
        with self._changed:
            self._cp_rows.extend(rows)
            self._cp_offs.extend(offs)
            self._cp_lines.extend(lines)
            self._n = len(self._cp_rows)
            self._count += added
            self._bucket = bucket
            self._end = end
            self._changed.notify_all()

    def wait(self, rows: int | None = None, timeout: float | None = None) -> bool:
        """Block until ``rows`` rows are indexed (or indexing ends); True when they are."""
        with self._changed:
            self._changed.wait_for(lambda: self.done or (rows is not None and self._count >= rows), timeout)
            return self.done if rows is None else self._count >= rows

    def _wait_offset(self, offset: int) -> None:
        """Block until the row holding byte ``offset`` is indexed (or indexing ends)."""
        with self._changed:
            self._changed.wait_for(lambda: self.done or self._end > offset)

    @property
    def progress(self) -> float:
        return 1.0 if self.done or not self.size else self.scanned / self.size

    def __len__(self) -> int:
        return self._count

    # -- reading --------------------------------------------------------------------------------------
    def _snapshot(self) -> tuple[int, int, int]:
        """(checkpoints, rows, end of the indexed bytes), consistent with one another."""
        with self._lock:
            return self._n, self._count, self._end

    def _block(self, j: int, n_cp: int, count: int, end: int) -> tuple[list[int], list[int], int]:
        """Start offsets and line numbers of the rows from checkpoint ``j`` to the next; and where they end."""
        last = j + 1 == n_cp
        lo, hi = self._cp_offs[j], end if last else self._cp_offs[j + 1]
        n = (count if last else self._cp_rows[j + 1]) - self._cp_rows[j]
        key = (j, n)  # the last block grows while indexing: its row count is part of the key
        with self._lock:
            if key in self._blocks:
                self._blocks.move_to_end(key)
                return (*self._blocks[key], hi)
        starts, lines = [lo], [self._cp_lines[j]]
        if n > 1:
            # every row of the block starts in lo's SPAN; a line cut at the read's end is longer than SHORT
            limit = min(hi, (lo // SPAN + 1) * SPAN + SHORT + 1)
            data = os.pread(self._fd, limit - lo, lo)
            pos = data.find(b"\n") + 1
            line = lines[0] + 1
            while pos and len(starts) < n and pos < len(data):
                nl = data.find(b"\n", pos)
                if is_row(data[pos : nl if nl >= 0 else len(data)]):
                    starts.append(lo + pos)
                    lines.append(line)
                pos, line = nl + 1, line + 1
        with self._lock:
            self._blocks[key] = (starts, lines)
            if len(self._blocks) > 256:
                self._blocks.popitem(last=False)
        return starts, lines, hi

    def _locate(self, row: int) -> tuple[int, int, int]:
        """(start offset, end of the bytes it may span, line number) of ``row``."""
        n_cp, count, end = self._snapshot()
        if not 0 <= row < count:
            raise IndexError(row)
        j = bisect_right(self._cp_rows, row, 0, n_cp) - 1
        starts, lines, hi = self._block(j, n_cp, count, end)
        k = row - self._cp_rows[j]
        if k >= len(starts):  # the file changed under us
            return hi, hi, lines[-1]
        return starts[k], starts[k + 1] if k + 1 < len(starts) else hi, lines[k]

    def line_number(self, row: int) -> int:
        return self._locate(row)[2]

    def row_start(self, row: int) -> int:
        return self._locate(row)[0]

    def raw(self, row: int) -> bytes:
        """The bytes of one row, without its line ending."""
        start, end, _ = self._locate(row)
        data = os.pread(self._fd, min(end - start, MAX_LINE), start)
        nl = data.find(b"\n")  # blank lines between rows were skipped: stop at the first newline
        return (data if nl < 0 else data[:nl]).rstrip(b"\r")

    def rows_block(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(line number, bytes) of rows ``start..stop-1``, with one read (for reading every row in order)."""
        stop = min(stop, len(self))
        if start >= stop:
            return []
        first, _, line = self._locate(start)
        _, end, _ = self._locate(stop - 1)
        data = os.pread(self._fd, end - first, first)
        out: list[tuple[int, bytes]] = []
        for k, raw in enumerate(data.split(b"\n")):
            if len(raw) > SHORT or raw.strip():  # is_row(), inline: this loop reads every row of a file
                out.append((line + k, raw.rstrip(b"\r")))
                if len(out) == stop - start:
                    break
        return out

    def row_at_offset(self, offset: int) -> int:
        """The row containing byte ``offset`` (the last row starting at or before it); waits for its indexing."""
        self._wait_offset(offset)
        n_cp, count, end = self._snapshot()
        if not count:
            return 0
        j = max(0, bisect_right(self._cp_offs, offset, 0, n_cp) - 1)
        starts, _, _ = self._block(j, n_cp, count, end)
        return self._cp_rows[j] + max(0, bisect_right(starts, offset) - 1)

    def find(self, pattern: re.Pattern[bytes], from_row: int, *, backwards: bool = False) -> int | None:
        """The next row (after ``from_row``, or before it) whose raw bytes match ``pattern``; None if none.

        While indexing, a forward search goes on past the indexed rows and waits for its hit to be indexed."""
        if backwards:
            return self._find_back(pattern, from_row)
        _, count, end = self._snapshot()
        start = self.row_start(from_row + 1) if 0 <= from_row + 1 < count else end
        searched = start  # the bytes before this are searched
        overlap = 4096  # a match may straddle two reads
        while True:
            if searched >= self.size:
                if self.done or not self._more(searched):  # a compressed file grows while it is unpacked
                    return None
                continue
            begin = max(start, searched - overlap)
            chunk = os.pread(self._fd, CHUNK + overlap, begin)
            if not chunk:
                return None
            m = pattern.search(chunk)
            if m:
                return self.row_at_offset(begin + m.start())
            searched = begin + len(chunk)

    def _more(self, pos: int) -> bool:
        """Wait until the file is longer than ``pos`` or indexing ends; whether it is longer."""
        with self._changed:
            self._changed.wait_for(lambda: self.done or self.size > pos)
            return self.size > pos

    def _find_back(self, pattern: re.Pattern[bytes], from_row: int) -> int | None:
        _, count, end = self._snapshot()
        if not count:
            return None
        end = self.row_start(from_row) if 0 <= from_row < count else end
        while end > 0:
            begin = max(0, end - CHUNK)
            chunk = os.pread(self._fd, end - begin + 4096, begin)[: end - begin + 4096]
            hits = [m.start() for m in pattern.finditer(chunk) if begin + m.start() < end]
            if hits:
                return self.row_at_offset(begin + hits[-1])
            end = begin
        return None

    def close(self) -> None:
        with self._changed:  # ends the scan, and wakes any search waiting for it
            self.done = True
            self._changed.notify_all()
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
        with self._changed:
            self.done = True
            self._changed.notify_all()
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
