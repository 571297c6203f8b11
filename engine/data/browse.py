"""Row sources for browsing: random access to any page of a dataset without loading it all.

- JSONL and plain text: a sparse ``LineIndex`` (built in a background thread) + an LRU of parsed rows
- Parquet, Arrow files, ``save_to_disk`` folders: pyarrow, memory-mapped, paged by slicing
- JSON arrays, CSV/TSV: read once in a background thread (these formats cannot be indexed by line)
- several files (globs, folders): one source after another
- hub ids: the ``datasets`` Arrow table (only when asked for; imports ``datasets``)

Nothing here imports ``datasets`` at module level, so the TUI can use it.
"""

from __future__ import annotations

import json
import re
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tailor.engine.data.records import Loc, Record, kind_of
from tailor.engine.errors import DataError

COLUMN_SAMPLE = 200


class RowSource:
    """Random access to rows; ``len()`` may grow until ``done``. Subclasses fill ``_record``."""

    label: str = ""
    done: bool = True
    error: str | None = None

    def start(self) -> RowSource:
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return True

    @property
    def progress(self) -> float:
        return 1.0

    def __len__(self) -> int:
        raise NotImplementedError

    def record(self, i: int) -> Record:
        raise NotImplementedError

    def records(self, start: int, count: int) -> list[Record]:
        stop = min(len(self), start + count)
        return [self.record(i) for i in range(max(0, start), stop)]

    def iter_records(self) -> Iterator[Record]:
        """Every row in order (waits for indexing as it goes)."""
        i = 0
        while True:
            if i >= len(self):
                if self.done:
                    return
                self.wait(0.05)
                continue
            batch = self.records(i, 1024)  # slices, not one row at a time (Arrow, Parquet)
            yield from batch
            i += len(batch)

    def columns(self) -> list[str]:
        cols: list[str] = []
        for rec in self.records(0, COLUMN_SAMPLE):
            for key in rec.data or {}:
                if key not in cols:
                    cols.append(key)
        return cols

    def search(self, text: str, from_row: int, *, backwards: bool = False) -> int | None:
        """The next row after (or before) ``from_row`` whose text contains ``text`` (case-insensitive)."""
        needle = text.lower()
        rows = range(from_row - 1, -1, -1) if backwards else range(from_row + 1, len(self))
        for i in rows:
            if needle in row_text(self.record(i)).lower():
                return i
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def row_text(rec: Record) -> str:
    if rec.data is None:
        return rec.error or ""
    return json.dumps(rec.data, ensure_ascii=False, default=str)


class LineSource(RowSource):
    """JSONL or plain text over a LineIndex."""

    def __init__(self, path: Path, kind: str) -> None:
        from tailor.engine.data.lineindex import LineIndex, RowCache, StreamIndex
        from tailor.engine.data.readers import check_file
        from tailor.engine.data.records import compression_of

        check_file(path)
        self.path, self.kind, self.label = path, kind, str(path)
        self.index = StreamIndex(path) if compression_of(path) else LineIndex(path)
        self.cache = RowCache(self._parse)

    def start(self) -> LineSource:
        self.index.start()
        return self

    @property
    def done(self) -> bool:  # type: ignore[override]
        return self.index.done

    @property
    def error(self) -> str | None:  # type: ignore[override]
        return self.index.error

    @property
    def progress(self) -> float:
        return self.index.progress

    def wait(self, timeout: float | None = None) -> bool:
        return self.index.wait(timeout=timeout)

    def wait_rows(self, rows: int, timeout: float | None = None) -> bool:
        return self.index.wait(rows, timeout)

    def __len__(self) -> int:
        return len(self.index)

    def record(self, i: int) -> Record:
        return self.cache.get(i)  # type: ignore[return-value]

    def _parse(self, i: int) -> Record:
        from tailor.engine.data.readers import decode_line, parse_json_line

        raw = self.index.raw(i)
        loc = Loc(str(self.path), line=self.index.line_number(i))
        if self.kind == "jsonl":
            return parse_json_line(raw, loc)
        text, err = decode_line(raw, loc)
        return Record(None, loc, err) if err else Record({"text": text}, loc)

    def iter_records(self) -> Iterator[Record]:
        """Every row in order, read in large blocks and not cached (for sorting, counting, reports)."""
        from tailor.engine.data.readers import decode_line, parse_json_line

        i = 0
        while True:
            n = len(self)
            if i >= n:
                if self.done:
                    return
                self.wait_rows(i + 1, 0.1)
                continue
            stop = min(n, i + 4096)
            for line, raw in self.index.rows_block(i, stop):
                loc = Loc(str(self.path), line=line)
                if self.kind == "jsonl":
                    yield parse_json_line(raw, loc)
                else:
                    text, err = decode_line(raw, loc)
                    yield Record(None, loc, err) if err else Record({"text": text}, loc)
            i = stop

    def search(self, text: str, from_row: int, *, backwards: bool = False) -> int | None:
        # Search the raw bytes (fast, in C); JSON may escape non-ASCII, so also try the escaped form.
        variants = {text.encode()}
        if self.kind == "jsonl":
            variants.add(json.dumps(text)[1:-1].encode())
        pattern = re.compile(b"|".join(re.escape(v) for v in variants), re.IGNORECASE)
        return self.index.find(pattern, from_row, backwards=backwards)

    def close(self) -> None:
        self.index.close()


class ListSource(RowSource):
    """Formats that cannot be indexed by line (JSON arrays, CSV/TSV): every record read once, in a thread."""

    def __init__(self, path: Path, kind: str) -> None:
        from tailor.engine.data.readers import check_file

        check_file(path)
        self.path, self.kind, self.label = path, kind, str(path)
        self.items: list[Record] = []
        self._done = threading.Event()
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ListSource:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, daemon=True, name=f"read {self.path.name}")
            self._thread.start()
        return self

    def _load(self) -> None:
        from tailor.engine.data.readers import iter_records

        try:
            for rec in iter_records(self.path, self.kind):
                self.items.append(rec)
        except DataError as exc:
            self.error = str(exc)
        finally:
            self._done.set()

    @property
    def done(self) -> bool:  # type: ignore[override]
        return self._done.is_set()

    @property
    def progress(self) -> float:
        return 1.0 if self.done else 0.0

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def __len__(self) -> int:
        return len(self.items)

    def record(self, i: int) -> Record:
        return self.items[i]


class ArrowSource(RowSource):
    """A pyarrow Table (Arrow IPC files memory-mapped, save_to_disk folders, hub datasets), paged by slicing."""

    def __init__(self, table: Any, label: str, paths: list[Path] | None = None) -> None:
        self.table, self.label = table, label
        self.paths = paths or []
        # where each file's rows start, to name file and row in locations
        self._bounds: list[int] = []
        self._row_counts: list[int] = []

    @classmethod
    def from_files(cls, paths: list[Path], label: str) -> ArrowSource:
        import pyarrow as pa

        from tailor.engine.data.readers import check_file, open_arrow_table

        tables = []
        for p in paths:
            check_file(p)
            tables.append(open_arrow_table(p))
        try:
            table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        except pa.ArrowInvalid as exc:
            raise DataError(f"{label}: the Arrow files have different columns ({exc})") from None
        src = cls(table, label, paths)
        src._row_counts = [t.num_rows for t in tables]
        return src

    def __len__(self) -> int:
        return self.table.num_rows

    def columns(self) -> list[str]:
        return list(self.table.column_names)

    def _loc(self, i: int) -> Loc:
        if not self._row_counts:
            return Loc(self.label, row=i + 1)
        start = 0
        for path, n in zip(self.paths, self._row_counts, strict=True):
            if i < start + n:
                return Loc(str(path), row=i - start + 1)
            start += n
        return Loc(self.label, row=i + 1)

    def record(self, i: int) -> Record:
        return self.records(i, 1)[0]

    def records(self, start: int, count: int) -> list[Record]:
        start = max(0, start)
        rows = self.table.slice(start, count).to_pylist()
        return [Record(r, self._loc(start + k)) for k, r in enumerate(rows)]


class ParquetSource(RowSource):
    """A Parquet file read a row group at a time (the last few groups cached)."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        from tailor.engine.data.readers import check_file

        check_file(path)
        self.path, self.label = path, str(path)
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
        meta = self.file.metadata
        self._starts = [0]
        for g in range(meta.num_row_groups):
            self._starts.append(self._starts[-1] + meta.row_group(g).num_rows)
        self._groups: dict[int, Any] = {}

    def __len__(self) -> int:
        return self._starts[-1]

    def columns(self) -> list[str]:
        return list(self.file.schema_arrow.names)

    def _group(self, g: int):  # -> pyarrow.Table
        if g not in self._groups:
            if len(self._groups) >= 3:
                self._groups.pop(next(iter(self._groups)))
            self._groups[g] = self.file.read_row_group(g)
        return self._groups[g]

    def record(self, i: int) -> Record:
        return self.records(i, 1)[0]

    def records(self, start: int, count: int) -> list[Record]:
        out: list[Record] = []
        i, stop = max(0, start), min(len(self), start + count)
        while i < stop:
            g = bisect_right(self._starts, i) - 1
            table = self._group(g)
            offset = i - self._starts[g]
            take = min(stop - i, table.num_rows - offset)
            for k, row in enumerate(table.slice(offset, take).to_pylist()):
                out.append(Record(row, Loc(str(self.path), row=i + k + 1)))
            i += take
        return out


class MultiSource(RowSource):
    """Several sources one after another (globs, folders of files)."""

    def __init__(self, parts: list[RowSource], label: str) -> None:
        self.parts, self.label = parts, label

    def start(self) -> MultiSource:
        for part in self.parts:
            part.start()
        return self

    @property
    def done(self) -> bool:  # type: ignore[override]
        return all(p.done for p in self.parts)

    @property
    def error(self) -> str | None:  # type: ignore[override]
        return next((p.error for p in self.parts if p.error), None)

    @property
    def progress(self) -> float:
        return sum(p.progress for p in self.parts) / len(self.parts)

    def wait(self, timeout: float | None = None) -> bool:
        return all(p.wait(timeout) for p in self.parts)

    def __len__(self) -> int:
        # rows of a part count only once every part before it is complete, so row numbers never shift
        total = 0
        for part in self.parts:
            total += len(part)
            if not part.done:
                break
        return total

    def _locate(self, i: int) -> tuple[RowSource, int]:
        for part in self.parts:
            if i < len(part):
                return part, i
            i -= len(part)
        raise IndexError(i)

    def record(self, i: int) -> Record:
        part, j = self._locate(i)
        return part.record(j)

    def close(self) -> None:
        for part in self.parts:
            part.close()


def source_for_file(path: Path) -> RowSource:
    kind = kind_of(path)
    if kind in ("jsonl", "text"):
        return LineSource(path, kind)
    if kind in ("json", "csv", "tsv"):
        return ListSource(path, kind)
    if kind == "parquet":
        return ParquetSource(path)
    if kind == "arrow":
        return ArrowSource.from_files([path], str(path))
    raise DataError(f"{path}: unknown file type; use .jsonl, .json, .csv, .tsv, .parquet, .arrow or .txt")


class MappedSource(RowSource):
    """A source whose rows pass through a mapping (a ``dataset_info.json`` entry's columns and tags)."""

    def __init__(
        self, base: RowSource, apply: Callable[[dict[str, Any]], dict[str, Any]], label: str
    ) -> None:
        self.base, self.apply, self.label = base, apply, label

    def _map(self, rec: Record) -> Record:
        return Record(self.apply(rec.data), rec.loc) if rec.data is not None else rec

    def start(self) -> MappedSource:
        self.base.start()
        return self

    @property
    def done(self) -> bool:  # type: ignore[override]
        return self.base.done

    @property
    def error(self) -> str | None:  # type: ignore[override]
        return self.base.error

    @property
    def progress(self) -> float:
        return self.base.progress

    def wait(self, timeout: float | None = None) -> bool:
        return self.base.wait(timeout)

    def __len__(self) -> int:
        return len(self.base)

    def record(self, i: int) -> Record:
        return self._map(self.base.record(i))

    def records(self, start: int, count: int) -> list[Record]:
        return [self._map(r) for r in self.base.records(start, count)]

    def iter_records(self) -> Iterator[Record]:
        return (self._map(r) for r in self.base.iter_records())

    def close(self) -> None:
        self.base.close()


def open_entry(spec: str) -> MappedSource | None:
    """A started source for ``…/dataset_info.json#name``; None for any other path."""
    from tailor.engine.data.registry import find, split_spec

    parts = split_spec(spec)
    if parts is None:
        return None
    entry = find(*parts)
    assert entry.file is not None  # find() refuses entries without a local file
    return MappedSource(source_for_file(entry.file), entry.transform(), spec).start()


def open_rows(spec: str | Path, *, split: str | None = None, subset: str | None = None) -> RowSource:
    """A started RowSource for a file, glob, folder or hub id. DataError when there is nothing to read."""
    from tailor.engine.data.sources import resolve

    entry = open_entry(str(spec))  # dataset_info.json#name
    if entry is not None:
        return entry
    resolved = resolve(str(spec), split=split)
    if resolved.hub_id:
        from tailor.engine.data.hub import hub_table

        return ArrowSource(hub_table(resolved.hub_id, subset=subset, split=split), resolved.hub_id)
    files = resolved.files
    if all(kind_of(f) == "arrow" for f in files):
        return ArrowSource.from_files(files, resolved.label).start()
    if len(files) == 1:
        return source_for_file(files[0]).start()
    return MultiSource([source_for_file(f) for f in files], resolved.label).start()
