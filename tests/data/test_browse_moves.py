"""Pilot tests: every jump and search in the dataset browser lands, whatever indexing or an earlier move is doing.

The index of a gzipped file is held part-built by the unpacking's first-page grace (lengthened here), so a
move can be issued, deterministically, while indexing runs or just as it ends; and, with rows long enough
that the first page fits the table, just as the rows outgrow the table, before the screen's next layout.
"""

from __future__ import annotations

import gzip
import json
import random

import pytest
from data_helpers import make_app, wait_until

from tailor.engine.data import lineindex

SIZE = (80, 24)
ROWS = 30000


def status(browser) -> str:
    return str(browser.query_one("#data-status").render())


def painted(browser, line_no: int) -> bool:
    """Whether a body line of the table shows file line ``line_no`` (what the user sees)."""
    table = browser.table
    return any(table.render_line(y).text.split()[:1] == [str(line_no)] for y in range(1, table.size.height))


@pytest.fixture
def held_gz(tmp_path, monkeypatch):
    """A gzipped JSONL of 30,000 rows whose unpacking waits 2.5 s after its first page (~7,000 rows)."""
    monkeypatch.setattr(lineindex, "FIRST_PAGE_GRACE", 2.5)
    rows = [{"i": i, "t": f"{i * 2654435761 % 2**32:08x}" * 6} for i in range(ROWS)]  # little to compress
    rows[25000]["t"] = "a needle"
    path = tmp_path / "held.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    return path


@pytest.fixture
def held_long_gz(tmp_path, monkeypatch):
    """A gzipped JSONL of 400 rows of 2 KB whose unpacking waits 2.5 s after its first page (~55 rows: a
    table 85 rows high shows them all, without a scrollbar)."""
    monkeypatch.setattr(lineindex, "FIRST_PAGE_GRACE", 2.5)
    rand = random.Random(0)
    rows = [{"i": i, "t": rand.randbytes(1000).hex()} for i in range(400)]  # little to compress
    path = tmp_path / "long.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), 1))
    return path


async def prompt(pilot, browser, key: str, value: str) -> None:
    """Open the jump (colon) or search (slash) prompt and submit ``value`` (typing it key by key is slow)."""
    await pilot.press(key)
    browser.query_one("#data-prompt").value = value
    await pilot.press("enter")


async def push_browser(pilot, path):
    """The browser on ``path``, its first page shown while the rest is still being indexed."""
    from tailor.tui.screens.datasets import BrowserScreen

    browser = BrowserScreen(str(path))
    pilot.app.push_screen(browser)
    await wait_until(pilot, lambda: browser.source is not None and browser.table.row_count, what="first page")
    assert not browser.source.done and browser.table.row_count < 25000  # the grace holds the index
    return browser


async def test_moves_issued_while_indexing_or_as_it_ends_land(workspace, held_gz):
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        # a jump past the indexed rows waits for them, then lands
        browser = await push_browser(pilot, held_gz)
        await prompt(pilot, browser, "colon", "27000")
        assert "going to row 27,000 once it is indexed" in status(browser)
        await wait_until(pilot, lambda: painted(browser, 27000), timeout=30, what="row 27,000 painted")
        assert browser.table.current[1].data["i"] == 26999 and not browser.busy
        await pilot.press("escape")

        # a jump issued while a search waits for its match to be indexed: the jump lands at once, and the
        # search's answer, when it comes, no longer moves the cursor
        browser = await push_browser(pilot, held_gz)
        await prompt(pilot, browser, "slash", "needle")
        await prompt(pilot, browser, "colon", "5")
        assert browser.table.cursor_row == 4 and not browser.busy
        await wait_until(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "datasets.search"))
        await pilot.pause()  # the search's answer is handled
        assert browser.source.done and browser.table.cursor_row == 4
        await pilot.press("escape")

        # a search whose match is not indexed yet finds it (not the last indexed row, not "no row")
        browser = await push_browser(pilot, held_gz)
        await prompt(pilot, browser, "slash", "needle")
        await wait_until(pilot, lambda: painted(browser, 25001), timeout=30, what="the match painted")
        assert browser.table.current[1].data["i"] == 25000 and "searching" not in status(browser)
        await pilot.press("escape")

        # a jump issued the moment indexing ends, before the screen's next look at the source
        browser = await push_browser(pilot, held_gz)
        browser.source.wait()  # blocks the app's loop: no tick can grow the table in between
        assert browser.table.virtual_size.height <= 25000  # the table still has the old length
        browser.table.move_to(28999)
        await wait_until(pilot, lambda: painted(browser, 29000), timeout=10, what="row 29,000 painted")


async def test_moves_land_when_the_rows_outgrow_the_table_before_its_next_layout(workspace, held_long_gz):
    """Textual ignores a scroll while the table shows no scrollbar, and shows one only at the screen's next
    layout: a move made as the rows outgrow the table (the bench's jump as indexing ends) was lost."""
    app = make_app(workspace)
    async with app.run_test(size=(80, 90)) as pilot:
        # a jump waiting for its row: the tick that brings every row also moves, with no layout in between
        browser = await push_browser(pilot, held_long_gz)
        await pilot.pause()
        assert not browser.table.show_vertical_scrollbar  # the first page fits the table
        await prompt(pilot, browser, "colon", "350")
        assert "going to row 350 once it is indexed" in status(browser)
        browser.source.wait()  # blocks the app's loop: the rows all come in the same tick
        await wait_until(pilot, lambda: painted(browser, 350), timeout=10, what="row 350 painted")
        assert browser.table.current[1].data["i"] == 349 and browser.table.show_vertical_scrollbar
        await pilot.press("escape")

        # a move issued the moment indexing ends, before the table has laid out its new length
        browser = await push_browser(pilot, held_long_gz)
        await pilot.pause()
        assert not browser.table.show_vertical_scrollbar
        browser.source.wait()
        browser.table.move_to(389)
        await wait_until(pilot, lambda: painted(browser, 390), timeout=10, what="row 390 painted")
        assert browser.table.vertical_scrollbar.position == browser.table.scroll_y  # its thumb is there too


async def test_search_next_always_finishes_and_queues(workspace):
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        from tailor.tui.screens.datasets import BrowserScreen

        browser = BrowserScreen(str(workspace.data_dir / "reverse" / "train.jsonl"))
        app.push_screen(browser)
        await wait_until(pilot, lambda: browser.source is not None and browser.source.done, what="rows")

        # the only match: n wraps around to it, and says so instead of "searching…" for good
        await pilot.press("slash", *"crib", "enter")
        await wait_until(pilot, lambda: browser.table.cursor_row == 11 and not browser.busy)
        await pilot.press("n")
        await wait_until(pilot, lambda: not browser.busy, what="n finished")
        assert browser.table.cursor_row == 11 and status(browser).startswith("row 12/1,000")
        assert any("row 12 is the only row containing 'crib'" in str(n.message) for n in app._notifications)

        # n pressed while the search runs goes on from its match: three matches, three moves
        matches = [i for i in range(1000) if "reverse: a" in json.dumps(browser.source.record(i).data).lower()]
        await pilot.press("g", "slash", *"reverse: a", "enter", "n", "n")
        await wait_until(pilot, lambda: not browser.busy and browser.table.cursor_row == matches[2])
        await pilot.press("N")
        await wait_until(pilot, lambda: not browser.busy and browser.table.cursor_row == matches[1])


@pytest.mark.slow
async def test_bench_tui_jump_lands_twenty_times_in_a_row(workspace, tmp_path, monkeypatch):
    """bench/browse.py's TUI row, on 200,000 short rows: the jump is issued as soon as indexing ends."""
    monkeypatch.setattr(lineindex, "CHUNK", 512 * 1024)  # indexing spans several of the screen's ticks
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(f'{{"id": {i}}}\n' for i in range(200_000)))
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        from tailor.tui.screens.datasets import BrowserScreen

        for run in range(20):
            browser = BrowserScreen(str(path))
            app.push_screen(browser)
            while browser.source is None or not browser.source.done:
                await pilot.pause(0.005)
            browser.table.move_to(180_000)
            # 30 s like the bench: a lost move never lands, a slow machine (the suite beside it) only lands late
            await wait_until(pilot, lambda b=browser: painted(b, 180_001), timeout=30, what=f"run {run + 1}")
            app.pop_screen()
