"""Browsing operations over a RowSource: sort by a column, search, frequency table, cell text.

Sorting and counting read every row once (in the caller's worker thread, with a progress callback); the
sorted order is a numpy array of row numbers, so the rows themselves are still read a page at a time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tailor.engine.data.browse import RowSource, row_text
from tailor.engine.data.records import Record

Progress = Callable[[float], object]  # any return value is ignored
MISSING = object()


def cell_text(value: Any, width: int = 60) -> str:
    """A value as one short line for a table cell."""
    if value is MISSING:
        return ""
    if value is None:
        return "∅"
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        first = value[0]
        who = first.get("role") or first.get("from") or ""
        what = first.get("content") if "content" in first else first.get("value", "")
        text = f"[{len(value)}] {who}: {what}" if who else json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, dict) and ("from" in value or "role" in value):
        text = f"{value.get('from') or value.get('role')}: {value.get('value') or value.get('content') or ''}"
    elif isinstance(value, bool | int | float):
        text = str(value).lower() if isinstance(value, bool) else str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _key(value: Any) -> tuple[int, Any]:
    """Sort numbers numerically before text; other values by their JSON text."""
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value[:200].lower())
    return (2, json.dumps(value, ensure_ascii=False, default=str)[:200])


def column_values(source: RowSource, column: str, progress: Progress | None = None) -> Any:
    """(row number, value) for every row; MISSING where the row lacks the column or is malformed."""
    total = max(1, len(source))
    for i, rec in enumerate(source.iter_records()):
        if progress and i % 20000 == 0:
            progress(min(0.99, i / max(total, len(source), 1)))
        yield i, (rec.data.get(column, MISSING) if rec.data is not None else MISSING)


@dataclass
class Frequency:
    column: str
    total: int
    missing: int
    counts: list[tuple[str, int]]
    distinct: int


def frequency(
    source: RowSource, column: str, *, limit: int = 500, progress: Progress | None = None
) -> Frequency:
    counts: Counter[str] = Counter()
    total = missing = 0
    for _, value in column_values(source, column, progress):
        total += 1
        if value is MISSING:
            missing += 1
            continue
        counts[cell_text(value, 120)] += 1
    return Frequency(column, total, missing, counts.most_common(limit), len(counts))


class RowView:
    """Display order over a RowSource: file order, or sorted by a column."""

    def __init__(self, source: RowSource) -> None:
        self.source = source
        self.order: np.ndarray | None = None
        self.sorted_by: tuple[str, bool] | None = None

    def __len__(self) -> int:
        return len(self.order) if self.order is not None else len(self.source)

    def source_row(self, pos: int) -> int:
        return int(self.order[pos]) if self.order is not None else pos

    def records(self, start: int, count: int) -> list[tuple[int, Record]]:
        """(source row, record) for display rows ``start..start+count``."""
        if self.order is None:
            recs = self.source.records(start, count)
            return [(start + k, r) for k, r in enumerate(recs)]
        rows = [int(r) for r in self.order[start : start + count]]
        return [(r, self.source.record(r)) for r in rows]

    def sort(self, column: str, *, descending: bool = False, progress: Progress | None = None) -> None:
        """Sort by ``column`` (rows without it go last, whichever the direction); waits for indexing."""
        present: list[int] = []
        keys: list[tuple[int, Any]] = []
        missing: list[int] = []
        for i, value in column_values(self.source, column, progress):
            if value is MISSING or value is None:
                missing.append(i)
            else:
                present.append(i)
                keys.append(_key(value))
        if keys and all(k[0] == 0 for k in keys):
            nums = np.fromiter((k[1] for k in keys), dtype=np.float64, count=len(keys))
            idx = np.argsort(-nums if descending else nums, kind="stable")
        else:
            idx = np.array(sorted(range(len(keys)), key=keys.__getitem__, reverse=descending), dtype=np.int64)
        order = np.asarray(present, dtype=np.int64)[idx] if len(keys) else np.empty(0, np.int64)
        self.order = np.concatenate([order, np.asarray(missing, dtype=np.int64)])
        self.sorted_by = (column, descending)

    def unsort(self) -> None:
        self.order, self.sorted_by = None, None

    def search(self, text: str, from_pos: int, *, backwards: bool = False) -> int | None:
        """The display position of the next row containing ``text`` (wrapping around), or None."""
        if not text or not len(self):
            return None
        if self.order is None:
            hit = self.source.search(text, from_pos, backwards=backwards)
            if hit is None:  # wrap around
                hit = self.source.search(text, len(self) if backwards else -1, backwards=backwards)
            return hit
        needle = text.lower()
        n = len(self)
        steps = range(1, n + 1)
        for step in steps:
            pos = (from_pos - step) % n if backwards else (from_pos + step) % n
            if needle in row_text(self.source.record(self.source_row(pos))).lower():
                return pos
        return None
