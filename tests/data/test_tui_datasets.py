"""Pilot tests of the Datasets screen and its VisiData-like browser keys, at 80x24 (no fixed sleeps)."""

from __future__ import annotations

from data_helpers import make_app, wait_until, write_jsonl

SIZE = (80, 24)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def dataset(tmp_path, n: int = 3000):
    rows = [{"instruction": f"say {i}", "input": "", "output": f"word{i % 7}", "n": i % 5} for i in range(n)]
    return write_jsonl(tmp_path / "d.jsonl", rows, raw_lines={3: "{broken"}), rows


async def open_browser(pilot, path):
    from tailor.tui.screens.datasets import BrowserScreen, DatasetsScreen

    app = pilot.app
    await pilot.press("1")
    screen = await wait_until(
        pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen, what="datasets"
    )
    screen.open(str(path))
    browser = await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, BrowserScreen)
            and app.screen.source is not None
            and app.screen.source.done
            and app.screen
        ),
        what="browser opened",
    )
    await wait_until(pilot, lambda: browser.table.row_count == len(browser.source), what="all rows")
    return browser


def cell(browser, column: str):
    return browser.table.current[1].data[column]


async def test_list_shows_workspace_datasets_and_enter_opens_one(workspace):
    from tailor.tui.screens.datasets import BrowserScreen, DatasetsScreen

    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen)
        table = screen.query_one("#datasets-table")
        await wait_until(pilot, lambda: table.row_count >= 10, what="demo datasets listed")
        keys = [k.value for k in table.rows]
        assert str(workspace.data_dir / "reverse" / "train.jsonl") in keys
        await pilot.press("enter")
        browser = await wait_until(
            pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.source and app.screen
        )
        await wait_until(
            pilot, lambda: "prompt-completion" in str(browser.query_one("#data-header").render())
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DatasetsScreen))
        # the opened path is now a recent one
        from tailor.engine.data.catalog import recent

        assert recent(workspace)[0] == keys[0]


async def test_browser_keys(workspace, tmp_path):
    from tailor.tui.widgets.data_detail import FrequencyScreen, QualityScreen, RowDetailScreen

    path, rows = dataset(tmp_path)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(pilot, path)
        table = browser.table
        assert table.row_count == 3001
        assert (
            not table.row(3)[1].ok and "invalid JSON" in table.row(3)[1].error
        )  # the bad line, shown in place
        assert "alpaca" in str(browser.query_one("#data-header").render())
        # virtualized: only a page or so of rows is ever held
        assert len(table._page) < 100

        # : jumps to a row
        await pilot.press("colon", *"2500", "enter")
        await wait_until(pilot, lambda: table.cursor_row == 2499)
        assert cell(browser, "instruction") == "say 2498"  # one bad line above shifts the numbering

        # ] sorts descending by the current column, [ ascending
        for _ in range(3):
            await pilot.press("right")
        assert table.current_column == "n"
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: browser.view.sorted_by == ("n", True))
        assert table.cursor_row == 0 and cell(browser, "n") == 4
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: browser.view.sorted_by == ("n", False))
        assert cell(browser, "n") == 0
        assert "sorted by n" in str(browser.query_one("#data-header").render())

        # / searches, n and N step through the matches (in the sorted order)
        await pilot.press("slash", *"say 10", "enter")
        await wait_until(
            pilot, lambda: not browser.busy and cell(browser, "instruction").startswith("say 10")
        )
        first = table.cursor_row
        await pilot.press("n")
        await wait_until(pilot, lambda: not browser.busy and table.cursor_row != first)
        second = table.cursor_row
        assert cell(browser, "instruction").startswith("say 10")
        await pilot.press("N")
        await wait_until(pilot, lambda: not browser.busy and table.cursor_row == first)
        assert second != first

        # F: frequency table of the current column; enter searches for the value
        await pilot.press("F")
        freq = await wait_until(pilot, lambda: isinstance(app.screen, FrequencyScreen) and app.screen)
        ftable = freq.query_one("DataTable")
        await wait_until(pilot, lambda: ftable.row_count == 5)
        assert [ftable.get_row_at(i)[1] for i in range(5)] == [600] * 5
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)

        # enter: row detail rendered through the chat template, trained tokens counted
        await pilot.press("enter")
        detail = await wait_until(pilot, lambda: isinstance(app.screen, RowDetailScreen) and app.screen)
        rendered = detail.query_one("#detail-rendered")
        await wait_until(pilot, lambda: "tokens" in str(rendered.render()), timeout=120, what="rendered")
        text = str(rendered.render())
        assert "<|im_start|>assistant" in text and "trained on" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)

        # c: quality report with the length histogram
        await pilot.press("c")
        report = await wait_until(pilot, lambda: isinstance(app.screen, QualityScreen) and app.screen)
        await wait_until(
            pilot, lambda: "esc close" in str(report.query_one("#report-stage").render()), timeout=120
        )
        body = str(report.query_one("#report-body").render())
        assert "malformed rows" in body and "d.jsonl:4" in body
        assert "token lengths" in str(report.query_one("#report-histogram").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)

        # r: a new recipe training on this dataset
        await pilot.press("r")
        await wait_until(pilot, lambda: any("new recipe d-sft.yaml" in n for n in notes(app)))
        assert (workspace.recipes_dir / "d-sft.yaml").exists()


async def test_large_file_pages_lazily(workspace, tmp_path):
    path = write_jsonl(tmp_path / "big.jsonl", [{"i": i, "text": "x" * 40} for i in range(60000)])
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(pilot, path)
        table = browser.table
        await pilot.press("G")
        await wait_until(pilot, lambda: table.cursor_row == 59999)
        assert cell(browser, "i") == 59999
        assert len(table._page) < 200
        await pilot.press("g")
        await wait_until(pilot, lambda: table.cursor_row == 0)
        await pilot.press("escape")


async def test_open_a_bad_path_shows_one_line(workspace, tmp_path):
    from tailor.tui.screens.datasets import BrowserScreen

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "DatasetsScreen")
        await pilot.press("o", *str(empty), "enter")
        await wait_until(pilot, lambda: any("the file is empty (0 bytes)" in n for n in notes(app)))
        # a failed open goes back to the list as it was, the path input cleared
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "DatasetsScreen")
        assert not isinstance(app.screen, BrowserScreen) and app.screen.query_one("#datasets-open").value == ""
