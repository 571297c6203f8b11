"""Pilot helpers shared by the TUI tests of every area: condition waits, settled tables."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


async def wait_until(pilot, predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "") -> Any:
    """Let the app run until ``predicate()`` is truthy (no fixed sleeps); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            await pilot.pause()  # let the screen repaint what the condition just settled
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what or predicate} on {pilot.app.screen!r}"
            )
        await pilot.pause(0.05)


async def settle_tables(pilot) -> None:
    """Redraw every DataTable on the screen once its column widths have settled.

    Textual 8.2's DataTable caches rendered cells without the column width in the key, and settles auto
    column widths on idle: rows drawn in between stay narrow (truncated) until something clears the cache,
    and whether a draw lands in between is a matter of timing. Wait for the widths, then drop the cache.
    """
    from textual.widgets import DataTable

    tables = list(pilot.app.screen.query(DataTable))
    await wait_until(
        pilot,
        lambda: all(not t._require_update_dimensions and not t._updated_cells for t in tables),
        what="settled column widths",
    )
    for table in tables:
        table._clear_caches()
        table.refresh()
    await pilot.pause()
