"""Keys behave the same everywhere in the Datasets area: j/k/g/G, q/esc go back, a failed open keeps state."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
from tui_helpers import make_app, wait_until


async def test_datasets_list_keys_q_closes_the_browser_and_a_failed_open_keeps_state(workspace) -> None:
    from textual.widgets import DataTable, Input

    from tailor.tui.screens.datasets import BrowserScreen, DatasetsScreen

    app = make_app(workspace, start_screen="datasets")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen, what="datasets")
        table = screen.query_one("#datasets-table", DataTable)
        await wait_until(pilot, lambda: table.row_count > 2, what="the dataset list")
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0

        await pilot.press("enter")
        browser = await wait_until(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen, what="browser")
        await wait_until(pilot, lambda: browser.source is not None, what="rows")
        await pilot.press("q")  # q closes the browser (it used to quit the app)
        await wait_until(pilot, lambda: app.screen is screen, what="back on the list")
        assert app.is_running

        rows = table.row_count
        await pilot.press("o", *"/no/such/file.jsonl", "enter")
        await wait_until(pilot, lambda: app.screen is screen and any("no/such" in n.message for n in app._notifications),
                         what="the failed open reported, back on the list")
        assert screen.query_one("#datasets-open", Input).value == "" and table.row_count == rows


async def test_row_detail_and_frequency_scroll_with_vim_keys(workspace) -> None:
    from textual.containers import VerticalScroll
    from textual.widgets import DataTable

    from tailor.tui.screens.datasets import BrowserScreen
    from tailor.tui.widgets.data_detail import FrequencyScreen, RowDetailScreen

    app = make_app(workspace, start_screen="datasets")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(BrowserScreen(str(workspace.data_dir / "reverse-kto" / "train.jsonl")))
        browser = await wait_until(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.source and app.screen)
        await pilot.press("enter")
        detail = await wait_until(pilot, lambda: isinstance(app.screen, RowDetailScreen) and app.screen, what="detail")
        scroll = detail.query_one(VerticalScroll)
        # The rendered tokens arrive from a worker and lengthen the pane: G before them would land short of the end.
        title = detail.query_one("#detail-rendered-title")
        await wait_until(pilot, lambda: "chat template" in str(title.render()), what="rendered tokens")
        await pilot.press("G")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("g")
        await pilot.pause()
        assert scroll.scroll_y == 0
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is browser, what="back on the rows")
        for _ in range(3):  # to the label column
            await pilot.press("l")
        await pilot.press("F")
        freq = await wait_until(pilot, lambda: isinstance(app.screen, FrequencyScreen) and app.screen, what="frequency")
        table = freq.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count >= 2, what="counts")
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k")
        assert table.cursor_row == 0
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser, what="back on the rows")


async def test_frequency_table_fits_80_columns(workspace, tmp_path) -> None:
    import json

    from textual.widgets import DataTable

    from tailor.tui.screens.datasets import BrowserScreen
    from tailor.tui.widgets.data_detail import FrequencyScreen

    data = tmp_path / "long.jsonl"
    data.write_text("".join(json.dumps({"text": f"{i % 3} " + "a long value " * 12}) + "\n" for i in range(30)))
    app = make_app(workspace, start_screen="datasets")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(BrowserScreen(str(data)))
        await wait_until(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.source)
        await pilot.press("F")
        freq = await wait_until(pilot, lambda: isinstance(app.screen, FrequencyScreen) and app.screen)
        table = freq.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 3, what="counts")
        widths = sum(c.get_render_width(table) for c in table.columns.values())
        assert widths <= table.size.width  # count and % stay on screen
        assert str(table.get_row_at(0)[0]).endswith("…")
        await pilot.press("enter")  # picking searches for the whole value, not the cut one
        await wait_until(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert app.screen.query_text.endswith("a long value") or len(app.screen.query_text) > 100
