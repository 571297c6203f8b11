"""Plain-data views of a study snapshot for the Search screen: heatmap grid, curves, importance bars.

Light module (no Optuna): it works on the rows of ``tailor.engine.search.study.snapshot``.
"""

from __future__ import annotations

import math
from typing import Any

Row = dict[str, Any]


def _finite(value: Any) -> bool:
    """A number that arithmetic and ``int()`` take (not NaN, an infinity, a huge int or text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def values_of(row: Row) -> dict[str, Any]:
    return {**row.get("params", {}), **row.get("derived", {})}


def pick_axes(space: dict[str, Any], rows: list[Row]) -> tuple[str | None, str | None]:
    """(x, y) for the heatmap: learning_rate x r when both are searched, else the first two searched."""
    searched = [k for k, spec in space.items() if isinstance(spec, dict) and ("choices" in spec or "low" in spec)]
    if not searched:
        searched = sorted({k for r in rows for k in r.get("params", {})})
    x = "learning_rate" if "learning_rate" in searched else (searched[0] if searched else None)
    others = [k for k in searched if k != x]
    y = "r" if "r" in others else (others[0] if others else None)
    return x, y


def compact(value: float) -> str:
    """A short number for axis labels: 3e-4, 5.4e-3, 0.25, 128."""
    if value == 0:
        return "0"
    if abs(value) < 1e-2 or abs(value) >= 1e4:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    return f"{value:.3g}"


def _axis(name: str, spec: dict[str, Any], seen: list[Any], bins: int) -> tuple[list[str], Any]:
    """Labels and a value -> column function: categorical values as they are, numeric ranges binned."""
    number = compact

    seen = [v for v in seen if isinstance(v, bool) or not isinstance(v, int | float) or _finite(v)]
    if "choices" in spec or not all(isinstance(v, int | float) for v in seen):
        values = list(spec.get("choices") or sorted(set(seen), key=str))
        return [number(v) if isinstance(v, float) else str(v) for v in values], (
            lambda v: values.index(v) if v in values else None
        )
    lo = spec.get("low", min(seen) if seen else 0.0)
    hi = spec.get("high", max(seen) if seen else 1.0)
    log = bool(spec.get("log")) and lo > 0
    if spec.get("type") == "int" and not log and hi - lo + 1 <= bins:
        values = list(range(int(lo), int(hi) + 1))
        return [str(v) for v in values], (lambda v: values.index(int(v)) if int(v) in values else None)
    a, b = (math.log10(lo), math.log10(hi)) if log else (lo, hi)
    width = (b - a) / bins or 1.0

    def col(v: float) -> int | None:
        if not (isinstance(v, bool) or _finite(v)) or (log and v <= 0):
            return None  # NaN, an infinity or not a number: in no cell
        pos = ((math.log10(v) if log else v) - a) / width
        return min(bins - 1, max(0, int(pos))) if math.isfinite(pos) else None

    edges = [a + i * width for i in range(bins)]
    labels = [compact(10**e if log else e) for e in edges]
    return labels, col


def heatmap(snapshot: dict[str, Any], *, bins: int = 6) -> dict[str, Any] | None:
    """The best objective per (y, x) cell over complete trials, with axis labels; None without two axes."""
    rows = snapshot.get("rows", [])
    space = snapshot.get("space") or {}
    x, y = pick_axes(space, rows)
    if x is None or y is None:
        return None
    # a value that is not a finite number (a diverged trial, a hand-edited study) colours no cell
    done = [r for r in rows if r.get("state") == "complete" and _finite(r.get("value"))]
    xs_seen = [values_of(r).get(x) for r in rows if values_of(r).get(x) is not None]
    ys_seen = [values_of(r).get(y) for r in rows if values_of(r).get(y) is not None]
    x_labels, x_col = _axis(x, space.get(x) or {}, xs_seen, bins)
    y_labels, y_row = _axis(y, space.get(y) or {}, ys_seen, bins)
    maximize = snapshot.get("direction") == "maximize"
    cells: list[list[float | None]] = [[None] * len(x_labels) for _ in y_labels]
    counts: list[list[int]] = [[0] * len(x_labels) for _ in y_labels]
    for r in done:
        vals = values_of(r)
        i, j = y_row(vals.get(y)), x_col(vals.get(x))
        if i is None or j is None:
            continue
        counts[i][j] += 1
        cur = cells[i][j]
        v = float(r["value"])
        if cur is None or (v > cur if maximize else v < cur):
            cells[i][j] = v
    filled = [v for line in cells for v in line if v is not None]
    return {
        "x": x,
        "y": y,
        "x_labels": x_labels,
        "y_labels": y_labels,
        "cells": cells,
        "counts": counts,
        "best": (max(filled) if maximize else min(filled)) if filled else None,
        "worst": (min(filled) if maximize else max(filled)) if filled else None,
    }


def quality(value: float, best: float | None, worst: float | None) -> float:
    """0 (worst) .. 1 (best) for colouring a heatmap cell."""
    if best is None or worst is None or best == worst:
        return 1.0
    return max(0.0, min(1.0, (value - worst) / (best - worst)))


def intermediate_series(snapshot: dict[str, Any], *, limit: int = 8) -> list[tuple[str, list[tuple[int, Any]], str]]:
    """(label, points, state) of the last ``limit`` trials with reports, plus the best one if older."""
    rows = [r for r in snapshot.get("rows", []) if r.get("intermediate")]
    best = snapshot.get("best")
    chosen = rows[-limit:]
    if best is not None and all(r["number"] != best["number"] for r in chosen):
        best_row = next((r for r in rows if r["number"] == best["number"]), None)
        if best_row is not None:
            chosen = [best_row, *chosen[1:]]
    out = []
    for r in sorted(chosen, key=lambda r: r["number"]):
        mark = {"pruned": " ✗", "failed": " !", "running": " …"}.get(r["state"], "")
        if best is not None and r["number"] == best["number"]:
            mark = " ★"
        # values as reported (NaN, inf...): the plot marks what it cannot draw
        points = [(int(k), v) for k, v in sorted(r["intermediate"].items(), key=lambda kv: int(kv[0]))]
        out.append((f"#{r['number']}{mark}", points, r["state"]))
    return out


def importance_bars(importances: dict[str, float], width: int = 20) -> list[tuple[str, float, str]]:
    """(name, importance, bar) sorted by importance."""
    out = []
    def order(value: Any) -> float:
        return -value if _finite(value) else math.inf  # what is not a finite number sorts last

    for name, value in sorted(importances.items(), key=lambda kv: order(kv[1])):
        n = max(0, min(width, round(value * width))) if _finite(value) else 0
        out.append((name, value, "█" * n + "·" * (width - n)))
    return out


def sort_rows(rows: list[Row], key: str, direction: str = "minimize") -> list[Row]:
    """Rows sorted by a column; missing values last. ``value`` sorts best first."""
    from tailor.engine.search import SearchError

    columns = {"number", "value", "state", "steps", "duration"}
    params = {p for r in rows for p in (*r["params"], *r["derived"])}
    if key not in columns | params:
        raise SearchError(f"--sort {key!r}: use one of {', '.join(sorted(columns | params))}")

    def get(row: Row) -> Any:
        if key in columns:
            return row.get(key)
        return row["params"].get(key, row["derived"].get(key))

    present = [r for r in rows if get(r) is not None]
    missing = [r for r in rows if get(r) is None]
    reverse = key == "value" and direction == "maximize"
    try:
        present.sort(key=get, reverse=reverse)
    except TypeError:
        present.sort(key=lambda r: str(get(r)), reverse=reverse)
    return present + missing
