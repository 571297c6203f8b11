"""Pilot tests: the browser numbers JSON-array rows by index, opens gzipped JSONL, and the row detail refuses
rows whose tools the model's chat template would drop (80x24)."""

from __future__ import annotations

from data_helpers import make_app, wait_until
from test_tui_datasets import SIZE, open_browser


def _row_column(browser, y: int) -> str:
    return browser.table.render_line(y).text.split()[0]


async def test_json_rows_are_numbered_and_tools_are_refused(workspace, shared_data):
    from tailor.tui.widgets.data_detail import RowDetailScreen

    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(pilot, shared_data / "llamafactory/glaive_toolcall_en_demo.json")
        assert browser.table.row_count == 300
        assert [_row_column(browser, y) for y in (1, 2, 3)] == ["1", "2", "3"]  # row indices, not file lines
        await pilot.press("enter")
        detail = await wait_until(pilot, lambda: isinstance(app.screen, RowDetailScreen) and app.screen)
        rendered = detail.query_one("#detail-rendered")
        await wait_until(pilot, lambda: "refused" in str(rendered.render()), timeout=120, what="refusal")
        text = str(rendered.render())
        assert "the chat template of tailor/tiny does not render the tool schemas" in text
        await pilot.press("escape")


async def test_gzipped_jsonl_opens_in_the_browser(workspace, shared_data):
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(pilot, shared_data / "hh-rlhf/harmless-base-test.jsonl.gz")
        assert browser.table.row_count == 2312
        assert _row_column(browser, 1) == "1"
        assert "preference" in str(browser.query_one("#data-header").render())
        await pilot.press("escape")
