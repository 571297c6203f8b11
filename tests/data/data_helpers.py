"""Helpers for the dataset tests: small generated files, an app over a workspace, condition waits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pilot_helpers import wait_until  # noqa: F401 - re-exported for this area's tests


def write_jsonl(path: Path, rows: list[Any], *, raw_lines: dict[int, str] | None = None) -> Path:
    """Rows as JSONL; ``raw_lines`` puts literal text at given 0-based positions (for bad lines)."""
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    for pos, text in sorted((raw_lines or {}).items()):
        lines.insert(pos, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_app(workspace, **tui: Any):
    """A TailorApp over ``workspace`` with ``[tui]`` settings overridden."""
    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp

    return TailorApp(workspace, load_settings(workspace=workspace.root, tui=tui))


