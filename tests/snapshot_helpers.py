"""Helpers shared by the snapshot tests of several areas."""

from __future__ import annotations

import time


async def wait_until(pilot, predicate, *, timeout: float = 10.0, what: str = ""):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
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
