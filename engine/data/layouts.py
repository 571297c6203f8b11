"""Per-row layout detection: which rows of a file are alpaca, chat, preference..., for files that mix them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tailor.engine.data.formats import detect


def detect_each(rows: Iterable[dict[str, Any]]) -> list[str | None]:
    """The layout of each row on its own (chat rows count as one layout, ShareGPT or role/content)."""
    out: list[str | None] = []
    for row in rows:
        fmt = detect([row]) if isinstance(row, dict) else None
        out.append("messages" if fmt == "sharegpt" else fmt)
    return out


def mixed_layouts(rows: list[dict[str, Any]], numbers: list[int]) -> str | None:
    """'rows 1–2 alpaca, row 3 preference' when the rows do not share one layout, else None."""
    kinds = detect_each(rows)
    cols = [set(r) for r in rows]
    # a row whose columns all appear in a row of another layout is that layout with a field missing
    # (a pair without 'rejected'): a bad row, reported as such, not a second layout
    for i, kind in enumerate(kinds):
        for j, other in enumerate(kinds):
            if other and other != kind and cols[i] < cols[j]:
                kinds[i] = other
                break
    if len({k for k in kinds if k}) < 2:
        return None
    runs: list[tuple[int, int, str]] = []
    for number, kind in zip(numbers, kinds, strict=True):
        name = kind or "unknown"
        if runs and runs[-1][2] == name:
            runs[-1] = (runs[-1][0], number, name)
        else:
            runs.append((number, number, name))
    parts = [f"row {a} {k}" if a == b else f"rows {a}–{b} {k}" for a, b, k in runs[:6]]
    more = f" and {len(runs) - 6} more runs" if len(runs) > 6 else ""
    return ", ".join(parts) + more
