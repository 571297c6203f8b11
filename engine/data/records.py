"""A row of a dataset together with where it came from, so every message can name the file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# File extensions we read, by reader kind.
KINDS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
}
TEXT_KINDS = {"jsonl", "json", "csv", "tsv", "text"}
# Compressed text files (``x.jsonl.gz``, ``x.json.gz``, ``x.jsonl.zst``), read as a stream.
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}


def compression_of(path: str | Path) -> str | None:
    """'gzip' or 'zstd' for a compressed text data file, else None."""
    p = Path(path)
    comp = COMPRESSIONS.get(p.suffix.lower())
    return comp if comp and KINDS.get(Path(p.stem).suffix.lower()) in TEXT_KINDS else None


def kind_of(path: str | Path) -> str | None:
    """The reader kind for a file name (``.jsonl.gz`` is jsonl), or None when we do not read it."""
    p = Path(path)
    if p.suffix.lower() in COMPRESSIONS:
        kind = KINDS.get(Path(p.stem).suffix.lower())
        return kind if kind in TEXT_KINDS else None
    return KINDS.get(p.suffix.lower())


@dataclass(frozen=True)
class Loc:
    """Where a row is: a 1-based line in a text file, or a 1-based row number in a columnar file."""

    path: str
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.path}:{self.line}"
        if self.row is not None:
            return f"{self.path} row {self.row}"
        return self.path

    @property
    def short(self) -> str:
        """The location with just the file name, for tables."""
        name = Path(self.path).name
        if self.line is not None:
            return f"{name}:{self.line}"
        if self.row is not None:
            return f"{name} row {self.row}"
        return name


@dataclass
class Record:
    """One row as read: ``data`` is the parsed object, or None when the row is malformed (see ``error``)."""

    data: dict[str, Any] | None
    loc: Loc
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Problem:
    """A problem with one row (or a whole file when ``loc.line`` and ``loc.row`` are None)."""

    loc: Loc
    message: str
    kind: str = field(default="malformed")

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}"


def summarize(problems: list[Problem], *, limit: int = 3) -> str:
    """One line naming the first problem and where the next few are, e.g. for a DataError."""
    if not problems:
        return ""
    first = str(problems[0])
    if len(problems) == 1:
        return first
    more = ", ".join(p.loc.short for p in problems[1 : 1 + limit])
    extra = f" and {len(problems) - 1 - limit} more" if len(problems) > 1 + limit else ""
    return f"{first} (also {more}{extra}; {len(problems)} rows in all)"
