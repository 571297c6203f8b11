"""Snapshots of the Datasets screen and its row browser at 80x24 and 120x40 (demo data, fixed recipe, UTC)."""

from __future__ import annotations

import time

import pytest
from data_helpers import make_app, wait_until
from pilot_helpers import settle_tables

from tailor.tui.screens.datasets import BrowserScreen, DatasetsScreen

SIZES = [(80, 24), (120, 40)]
DEMO = "data/reverse/train.jsonl"  # relative to the workspace root: the browser header shows it as given

# One fixed recipe: its hub dataset shows the "recipe:" origin, its local path folds into the workspace file.
SNAP_RECIPE = """\
kind: sft
name: snap-hub
model: tailor/tiny
data:
  train: ../data/reverse/train.jsonl
  eval: trl-lib/Capybara
"""


@pytest.fixture
def data_workspace(workspace, monkeypatch):
    # Only a recipe this test writes (example recipes come and go), times in UTC, and the workspace as
    # the working directory so the browser opens the demo file by a path that is the same on every machine.
    for path in workspace.recipes():
        path.unlink()
    (workspace.recipes_dir / "snap-hub.yaml").write_text(SNAP_RECIPE)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.chdir(workspace.root)
    yield workspace
    monkeypatch.undo()
    time.tzset()


def _listed(pilot) -> bool:
    screen = pilot.app.screen
    if not isinstance(screen, DatasetsScreen):
        return False
    table = screen.query_one("#datasets-table")
    return table.row_count > 0 and any(str(k.value).endswith("Capybara") for k in table.rows)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_datasets_list(snap_compare, data_workspace, size):
    async def ready(pilot):
        await wait_until(pilot, lambda: _listed(pilot), what="the workspace datasets listed")
        await wait_until(
            pilot,
            lambda: not [w for w in pilot.app.workers if w.group.startswith("datasets.") and w.is_running],
            what="the listing and prewarm workers done",
        )
        await settle_tables(pilot)

    app = make_app(data_workspace, start_screen="datasets")
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_datasets_browser(snap_compare, data_workspace, size):
    rows = sum(1 for _ in (data_workspace.root / DEMO).open())

    async def ready(pilot):
        app = pilot.app
        screen = await wait_until(pilot, lambda: _listed(pilot) and app.screen, what="the Datasets screen")
        screen.open(DEMO)

        def opened() -> bool:
            browser = app.screen
            return (
                isinstance(browser, BrowserScreen)
                and browser.source is not None
                and browser.source.done
                and browser._timer is None  # the last tick ran: the header no longer says "indexing"
                and browser.table.row_count == rows
                and f"{rows:,} rows" in str(browser.query_one("#data-header").render())
            )

        await wait_until(pilot, opened, what="the demo data indexed and shown")
        await wait_until(
            pilot,
            lambda: not [w for w in app.workers if w.group.startswith("datasets.") and w.is_running],
            what="the browser's workers done",
        )
        await pilot.pause()

    app = make_app(data_workspace, start_screen="datasets")
    assert snap_compare(app, terminal_size=size, run_before=ready)
