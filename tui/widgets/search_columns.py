"""Which optional columns of the Search screen's trials table fit its width (80x24 included)."""

from __future__ import annotations

from typing import Any


def short(name: str) -> str:
    """A parameter's column label: ``lr``, ``alpha``, ``dropout``, else the name (8 characters)."""
    return {"learning_rate": "lr", "lora_alpha": "alpha", "lora_dropout": "dropout"}.get(name, name)[:8]


def fit_columns(rows: list[dict[str, Any]], names: list[str], objective: str, room: int) -> set[str]:
    """The optional columns that fit in ``room`` cells, by priority: the searched parameters first, then
    steps, derived values (e.g. alpha = 2r), duration; number, state and objective are always shown."""
    from tailor.engine.api.runs import duration, number

    def width(label: str, values: list[str]) -> int:
        return max([len(label), *map(len, values)]) + 2  # cell padding

    def text(v: Any) -> str:
        return number(v) if isinstance(v, float) else str(v)

    derived = [n for n in names if any(n in r["derived"] for r in rows)]
    params = [n for n in names if n not in derived]
    cols = {n: width(short(n), [text({**r["params"], **r["derived"]}.get(n, "-")) for r in rows]) for n in names}
    cols["steps"] = width("steps", [str(r["steps"] or "-") for r in rows])
    cols["duration"] = width("time", [duration(r["duration"]) for r in rows])
    room -= width("#", [f"{r['number']} ★" for r in rows]) + width("state", [r["state"] for r in rows])
    room -= width(objective, ["-" * 7])
    shown: set[str] = set()
    for name in (*params, "steps", *derived, "duration"):
        if cols[name] <= room:
            shown.add(name)
            room -= cols[name]
    return shown
