"""Snapshots of the Search screen at 80x24 and 120x40 over a fixed study (fixed times, UTC)."""

from __future__ import annotations

import time

import pytest
from search_helpers import add_trials, make_app, wait_until, write_search

from tailor.tui.screens.search import SearchScreen
from tailor.tui.widgets.curves import Curves

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def study_workspace(workspace, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    add_trials(workspace, write_search(workspace))
    yield workspace
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_screen(snap_compare, study_workspace, size):
    async def ready(pilot):
        def done() -> bool:
            screen = pilot.app.screen
            return (
                isinstance(screen, SearchScreen)
                and screen.table.row_count == 5
                and all(c.ready for c in screen.query(Curves))
            )

        await wait_until(pilot, done, what="trials and plots shown")
        await pilot.pause()

    assert snap_compare(make_app(study_workspace), terminal_size=size, run_before=ready)
