"""Helpers for the dataset tests: small generated files, an app over a workspace, condition waits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_jsonl(path: Path, rows: list[Any], *, raw_lines: dict[int, str] | None = None) -> Path:
    """Rows as JSONL; ``raw_lines`` puts literal text at given 0-based positions (for bad lines)."""
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    for pos, text in sorted((raw_lines or {}).items()):
        lines.insert(pos, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_app(workspace, **settings: Any):
    from engine.config import load_settings
    from tui.app import TailorApp

    return TailorApp(workspace, load_settings(workspace=workspace.root, **settings))


async def wait_until(pilot, predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "") -> Any:
    """Let the app run until ``predicate()`` is truthy (no fixed sleeps); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what or predicate} on {pilot.app.screen!r}"
            )
        await pilot.pause(0.05)
