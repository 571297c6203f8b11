"""Read every row of one local file, with its file and line, never stopping at a bad row.

Malformed rows come back as ``Record(data=None, error=...)`` so callers can show the good rows and name the bad
ones. Light: only the standard library and pyarrow (for Parquet/Arrow), no ``datasets``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tailor.engine.data.compressed import bad_stream, open_stream, read_all, stream_errors
from tailor.engine.data.records import Loc, Record, compression_of, kind_of
from tailor.engine.errors import DataError

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
# Where the next array element starts after a bad one: a line starting with '{', or in minified
# JSON a ',{' (a bad element must not swallow every later row).
_NEXT_OBJECT = re.compile(r"[\r\n][ \t]*\{|,[ \t\r\n]*\{")


def check_file(path: Path) -> None:
    """Refuse files that cannot hold rows at all, with a message naming the file."""
    if not path.exists():
        if path.is_symlink():
            try:
                path.resolve(strict=True)
            except RuntimeError:
                raise DataError(f"{path}: symbolic link loop; point the link at a real file") from None
            except OSError as exc:
                if exc.errno == 40:  # ELOOP
                    raise DataError(f"{path}: symbolic link loop; point the link at a real file") from None
            raise DataError(f"{path}: broken symbolic link (its target does not exist)")
        raise DataError(f"{path}: no such file or folder")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes)")
    if kind_of(path) in ("jsonl", "json", "csv", "tsv", "text"):
        try:
            with open_stream(path) as fh:
                head = fh.read(4)
                head += fh.read(8192)  # enough to tell a binary file by its NUL bytes
        except stream_errors() as exc:
            raise bad_stream(path, exc) from None
        if head.startswith(UTF16_BOMS):
            raise DataError(f"{path}: the file is UTF-16/32 encoded; save it as UTF-8")
        if b"\0" in head:
            raise DataError(f"{path}: this is a binary file, not {str(kind_of(path)).upper()} text; give a data file")


def decode_line(raw: bytes, loc: Loc) -> tuple[str | None, str | None]:
    """Decode one line as UTF-8; on failure say which byte and column, so the user can find it."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        byte = raw[exc.start : exc.start + 1].hex()
        return None, f"not valid UTF-8 (byte 0x{byte} at column {exc.start + 1}); save the file as UTF-8"


def parse_json_line(raw: bytes, loc: Loc) -> Record:
    """One JSONL line -> a Record (bad encoding, bad JSON, or a non-object are errors)."""
    text, err = decode_line(raw, loc)
    if err or text is None:
        return Record(None, loc, err)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Record(None, loc, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return Record(None, loc, f"expected a JSON object, got {_json_type(obj)}")
    return Record(obj, loc)


def _json_type(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


def iter_records(path: str | Path, kind: str | None = None) -> Iterator[Record]:
    """Every row of ``path`` in file order. Raises DataError only for a file that cannot be read at all."""
    path = Path(path)
    kind = kind or kind_of(path)
    if kind is None:
        raise DataError(f"{path}: unknown file type; use .jsonl, .json, .csv, .tsv, .parquet, .arrow or .txt")
    check_file(path)
    reader = {
        "jsonl": _jsonl,
        "json": _json,
        "csv": _csv,
        "tsv": _csv,
        "text": _text,
        "parquet": _parquet,
        "arrow": _arrow,
    }[kind]
    try:
        yield from reader(path, kind)
    except stream_errors() as exc:
        if compression_of(path) and not isinstance(exc, FileNotFoundError | PermissionError):
            raise bad_stream(path, exc) from None
        raise DataError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open_stream(path) as fh:
        for number, raw in enumerate(fh, 1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            yield number, raw


def _jsonl(path: Path, kind: str) -> Iterator[Record]:
    for number, raw in _lines(path):
        if raw.strip():
            yield parse_json_line(raw.rstrip(b"\r\n"), Loc(str(path), line=number))


def _text(path: Path, kind: str) -> Iterator[Record]:
    for number, raw in _lines(path):
        loc = Loc(str(path), line=number)
        text, err = decode_line(raw, loc)
        if err or text is None:
            yield Record(None, loc, err)
        elif text.strip():
            yield Record({"text": text.rstrip("\r\n")}, loc)


def _decode_whole(path: Path) -> tuple[str, Record | None]:
    """The whole file as text; a bad byte becomes one error Record and is replaced so the rest still reads."""
    data = read_all(path) if compression_of(path) else path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        bad = Record(
            None,
            Loc(str(path), line=line),
            f"not valid UTF-8 (byte 0x{byte} at column {col}); save the file as UTF-8",
        )
        return data.decode("utf-8", errors="replace"), bad


def _json(path: Path, kind: str) -> Iterator[Record]:
    text, bad = _decode_whole(path)
    if bad:
        yield bad
    start = len(text) - len(text.lstrip())
    if start == len(text):
        raise DataError(f"{path}: the file has only whitespace")
    if text[start] == "[":
        yield from scan_json_array(text, str(path), start)
        return
    try:
        obj = json.loads(text)
    except RecursionError:
        raise DataError(f"{path}: the JSON is nested too deep to be rows; give an array of objects") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # one object per line in a .json file: read it as JSONL
            yield from _jsonl(path, "jsonl")
            return
        yield Record(None, Loc(str(path), line=exc.lineno), f"invalid JSON: {exc.msg} at column {exc.colno}")
        return
    if isinstance(obj, dict):
        from tailor.engine.data.formats import chat_field

        lists = [k for k, v in obj.items() if isinstance(v, list)]
        if chat_field(obj) or {"chosen", "rejected"} <= obj.keys():
            # one conversation (Axolotl's conversation.json, one {"messages": ...}): one row, not one per turn
            yield Record(obj, Loc(str(path), row=1))
            return
        if len(lists) == 1 and all(isinstance(r, dict) for r in obj[lists[0]][:10]):
            # {"data": [...]} / {"train": [...]}: the rows are the one list inside
            for i, row in enumerate(obj[lists[0]], 1):
                loc = Loc(str(path), row=i)
                yield (
                    Record(row, loc)
                    if isinstance(row, dict)
                    else Record(None, loc, f"expected a JSON object, got {_json_type(row)}")
                )
            return
        yield Record(obj, Loc(str(path), row=1))
        return
    raise DataError(f"{path}: expected a JSON array of objects, got {_json_type(obj)}")


def scan_json_array(text: str, path: str, start: int = 0) -> Iterator[Record]:
    """Elements of a JSON array one by one, located by row index (1-based; a file line means nothing in a
    pretty-printed or one-line array); recovers after a bad element."""
    decoder = json.JSONDecoder()
    pos = start + 1
    n = len(text)
    row = 0
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            yield Record(None, Loc(path, row=row + 1), "the JSON array is not closed with ']'")
            return
        if text[pos] == "]":
            return
        row += 1
        loc = Loc(path, row=row)
        try:
            obj, end = decoder.raw_decode(text, pos)
        except RecursionError:
            raise DataError(f"{path} row {row}: the JSON is nested too deep to be rows; give an array of objects") from None
        except json.JSONDecodeError as exc:
            yield Record(
                None, loc, f"invalid JSON: {exc.msg} (file line {exc.lineno}, column {exc.colno})"
            )
            nxt = _NEXT_OBJECT.search(text, exc.pos)
            if not nxt:
                return
            pos = nxt.start() + 1
            continue
        if isinstance(obj, dict):
            yield Record(obj, loc)
        else:
            yield Record(None, loc, f"expected a JSON object, got {_json_type(obj)}")
        pos = end
        if pos < n and text[pos] not in " \t\r\n,]":
            nxt = _NEXT_OBJECT.search(text, pos)
            line = text.count("\n", 0, pos) + 1
            yield Record(None, Loc(path, row=row), f"invalid JSON: expected ',' or ']' after it (file line {line})")
            if not nxt:
                return
            pos = nxt.start() + 1


def _csv(path: Path, kind: str) -> Iterator[Record]:
    text, bad = _decode_whole(path)
    if bad:
        yield bad
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if kind == "tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file has no header row") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise DataError(f"{path}:1: the header row is empty")
    prev = reader.line_num
    for values in reader:
        loc = Loc(str(path), line=prev + 1)
        prev = reader.line_num
        if not values or not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield Record(None, loc, f"has {len(values)} fields but the header has {len(header)}")
            continue
        yield Record(dict(zip(header, values, strict=True)), loc)


def _parquet(path: Path, kind: str) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    row = 0
    for batch in pf.iter_batches(batch_size=1024):
        for item in batch.to_pylist():
            row += 1
            yield Record(item, Loc(str(path), row=row))


def open_arrow_table(path: Path):  # -> pyarrow.Table
    """An Arrow IPC file or stream (``save_to_disk`` writes streams), memory-mapped."""
    import pyarrow as pa

    try:
        source = pa.memory_map(str(path))
        try:
            return pa.ipc.open_file(source).read_all()
        except pa.ArrowInvalid:
            source = pa.memory_map(str(path))
            return pa.ipc.open_stream(source).read_all()
    except Exception as exc:
        raise DataError(f"{path}: not a readable Arrow file ({exc})") from None


def _arrow(path: Path, kind: str) -> Iterator[Record]:
    table = open_arrow_table(path)
    row = 0
    for batch in table.to_batches(max_chunksize=1024):
        for item in batch.to_pylist():
            row += 1
            yield Record(item, Loc(str(path), row=row))
