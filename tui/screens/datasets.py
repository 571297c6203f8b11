"""The Datasets screen: the workspace's datasets and recent paths; enter opens a lazy, VisiData-like browser.

Browser keys: [ / ] sort by the current column, / search (n / N next / previous), F frequency table,
enter row detail (rendered through the model's chat template), c quality report, r new recipe,
: jump to a row, m model for token counts. Rows are paged from a line index or Arrow (tui/widgets/data_rows.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from tailor.tui.keymap import bind
from tailor.tui.screens.base import TailorScreen
from tailor.tui.widgets.data_rows import RowTable
from tailor.tui.widgets.table import Table

if TYPE_CHECKING:
    from tailor.engine.api.data import Entry, RowSource

DEFAULT_MODEL = "tailor/tiny"


class DatasetsScreen(TailorScreen):
    @dataclass
    class Listed(Message):
        entries: list[Entry]

    SCREEN_NAME = "datasets"
    DEFAULT_CSS = """
    DatasetsScreen #datasets-open { height: 3; border: round $border; }
    DatasetsScreen #datasets-table { height: 1fr; }
    DatasetsScreen #datasets-hint { height: 1; color: $foreground-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("datasets.browse", "enter", "browse", "Browse"),
        bind("datasets.open_path", "o", "open_path", "Open a path"),
        bind("datasets.refresh", "r", "refresh", "Refresh"),
        bind("datasets.list_down", "j", "list('down')", "Down", show=False),
        bind("datasets.list_up", "k", "list('up')", "Up", show=False),
        bind("datasets.list_first", "g", "list('first')", "First", show=False),
        bind("datasets.list_last", "G", "list('last')", "Last", show=False),
    ]
    NEEDS_ITEMS = ("browse", "list")

    def empty_hint(self) -> str | None:
        if self.query_one("#datasets-table", DataTable).row_count:
            return None
        return "no datasets listed yet: o opens a path (or put .jsonl files under data/), `tailor data show FILE`"

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="file, glob, folder or hub id (o) — enter opens it", id="datasets-open")
        yield Table(id="datasets-table", cursor_type="row", zebra_stripes=True)
        yield Static("enter browse · o open a path · r refresh · ? keys", id="datasets-hint")

    def on_mount(self) -> None:
        table = self.query_one("#datasets-table", DataTable)
        table.add_columns("dataset", "type", "size", "from")
        table.focus()
        self.action_refresh()
        self.prewarm()

    @work(thread=True, exclusive=True, group="datasets.prewarm", exit_on_error=False)
    def prewarm(self) -> None:
        """Import the browser's engine modules (numpy, pyarrow) now, so opening a dataset is quick."""
        import tailor.engine.api.data  # noqa: F401

    def action_refresh(self) -> None:
        self.list_datasets()

    @work(thread=True, exclusive=True, group="datasets.list", exit_on_error=False)
    def list_datasets(self) -> None:
        from tailor.engine.api.data import all_datasets

        self.post_message(self.Listed(all_datasets(self.tailor.workspace)))

    def on_datasets_screen_listed(self, message: DatasetsScreen.Listed) -> None:
        table = self.query_one("#datasets-table", DataTable)
        table.clear()
        root = self.tailor.workspace.root
        for e in message.entries:
            shown = e.path
            if e.path.startswith(str(root) + "/"):
                shown = e.path[len(str(root)) + 1 :]
            size = _size(e.size)
            table.add_row(shown, e.kind or "-", size, e.origin, key=e.path)

    def action_browse(self) -> None:
        table = self.query_one("#datasets-table", DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key:
            self.open(key)

    def action_list(self, where: str) -> None:
        table = self.query_one("#datasets-table", DataTable)
        if where in ("down", "up"):
            table.action_cursor_down() if where == "down" else table.action_cursor_up()
        else:
            table.move_cursor(row=0 if where == "first" else table.row_count - 1)

    def action_open_path(self) -> None:
        self.query_one("#datasets-open", Input).focus()

    @on(Input.Submitted, "#datasets-open")
    def _open_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        event.input.value = ""  # a failed open leaves the list as it was, the input cleared
        self.query_one("#datasets-table", DataTable).focus()
        if path:
            self.open(path)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.open(event.row_key.value)

    def open(self, path: str) -> None:
        self.app.push_screen(BrowserScreen(path))


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


class BrowserScreen(TailorScreen):
    """One dataset, paged lazily; the keys of VisiData."""

    @dataclass
    class Opened(Message):
        source: RowSource
        fmt: str | None
        columns: list[str]

    @dataclass
    class Sorted(Message):
        column: str
        descending: bool
        ticket: int

    @dataclass
    class Found(Message):
        query: str
        start: int
        pos: int | None
        ticket: int

    @dataclass
    class RecipeMade(Message):
        path: Path

    SCREEN_NAME = "datasets"
    DEFAULT_CSS = """
    BrowserScreen #data-header { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    BrowserScreen #data-status { height: 1; color: $foreground-muted; padding: 0 1; }
    BrowserScreen #data-prompt { height: 3; border: round $accent; display: none; }
    BrowserScreen #data-prompt.visible { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("datasets.sort_asc", "left_square_bracket", "sort(False)", "Sort ascending"),
        bind("datasets.sort_desc", "right_square_bracket", "sort(True)", "Sort descending"),
        bind("datasets.search", "slash", "prompt('search')", "Search"),
        bind("datasets.search_next", "n", "search_next(False)", "Next match"),
        bind("datasets.search_prev", "N", "search_next(True)", "Previous match"),
        bind("datasets.frequency", "F", "frequency", "Frequency"),
        bind("datasets.detail", "enter", "detail", "Row detail"),
        bind("datasets.check", "c", "check", "Quality report"),
        bind("datasets.new_recipe", "r", "new_recipe", "New recipe"),
        bind("datasets.jump", "colon", "prompt('jump')", "Go to row", show=False),
        bind("datasets.model", "m", "prompt('model')", "Model", show=False),
        bind("datasets.close", "escape,q", "close", "Back", show=False),
    ]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.source: Any = None
        self.view: Any = None
        self.fmt: str | None = None
        self.model = DEFAULT_MODEL
        self.query_text = ""
        self.prompt_mode = ""
        self.busy = ""
        self._timer: Any = None
        # Moves (jumps, searches, sorts) land in the order they were asked for: each takes a ticket, and a
        # result that comes back after a later move was asked for is dropped. A jump past the rows indexed so
        # far waits for them; n / N pressed while a search runs go on from its match.
        self._ticket = 0
        self._pending_jump: int | None = None
        self._queued: list[bool] = []
        self._searching = False

    def compose_body(self) -> ComposeResult:
        yield Static(f"opening {self.path}…", id="data-header", markup=False)
        yield RowTable(id="data-table")
        yield Input(id="data-prompt")
        yield Static("", id="data-status", markup=False)

    @property
    def table(self) -> RowTable:
        return self.query_one("#data-table", RowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.open_source()

    def on_unmount(self) -> None:
        if self.source is not None:
            self.source.close()

    # -- opening -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="datasets.open", exit_on_error=False)
    def open_source(self) -> None:
        from tailor.engine.api.data import detect, open_rows, remember
        from tailor.engine.api.errors import TailorError

        try:
            source = open_rows(self.path)
        except TailorError as exc:  # back to where the user was, with the reason
            self.app.call_from_thread(self._failed, str(exc))
            return
        if hasattr(source, "wait_rows"):
            source.wait_rows(50, timeout=1.0)
        else:
            source.wait(timeout=1.0)
        fmt = detect([r.data for r in source.records(0, 50) if r.ok and r.data is not None])
        self.post_message(self.Opened(source, fmt, source.columns()))
        path = self.path
        if Path(path).expanduser().exists():
            path = str(Path(path).expanduser().resolve())
        with contextlib.suppress(OSError):  # the recent list is a convenience (written after the first page)
            remember(self.tailor.workspace, path)

    def on_browser_screen_opened(self, message: BrowserScreen.Opened) -> None:
        from tailor.engine.api.data import RowView

        self.source, self.fmt = message.source, message.fmt
        self.view = RowView(self.source)
        self.table.set_view(self.view, message.columns)
        self._tick()
        if not self.source.done:
            self._timer = self.set_interval(0.2, self._tick)

    def _failed(self, error: str) -> None:
        """Nothing could be read: back to where the user was, with the reason."""
        self.notify(error, severity="error", timeout=8)
        if self.app.screen is self:
            self.app.pop_screen()

    def _tick(self) -> None:
        if self.source is None:
            return
        if self.view.order is None:
            self.table.grow()
        done = self.source.done
        if self._pending_jump is not None and (self._pending_jump < self.table.row_count or done):
            pos, self._pending_jump, self.busy = self._pending_jump, None, ""
            self.table.move_to(pos)
        if done and self.source.error and not len(self.source):
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self._failed(self.source.error)
            return
        if done and self._timer is not None:
            self._timer.stop()
            self._timer = None
            if self.source.error:
                self.notify(self.source.error, severity="error", timeout=8)
        self.update_header()

    def update_header(self) -> None:
        from tailor.engine.api.data import DESCRIPTIONS

        src = self.source
        parts = [src.label, DESCRIPTIONS.get(self.fmt or "", "unknown format"), f"{len(src):,} rows"]
        if not src.done:
            parts.append(f"indexing {src.progress:.0%}")
        if self.view is not None and self.view.sorted_by:
            col, desc = self.view.sorted_by
            parts.append(f"sorted by {col} {'↓' if desc else '↑'}")
        self.query_one("#data-header", Static).update(" · ".join(parts))
        self.update_status()

    def update_status(self) -> None:
        table = self.table
        col = table.current_column or "-"
        text = f"row {table.cursor_row + 1:,}/{table.row_count:,} · column {col} · model {self.model}"
        if self.busy:
            text = f"{self.busy}… · " + text
        self.query_one("#data-status", Static).update(text)

    def on_row_table_cursor_moved(self, message: RowTable.CursorMoved) -> None:
        self.update_status()

    # -- sort, search, jump --------------------------------------------------------------------
    def _ready(self) -> bool:
        if self.source is None:
            self.notify("the dataset is still opening", severity="warning")
            return False
        return True

    def _new_move(self, busy: str = "") -> int:
        """A jump, search or sort is asked for: what earlier ones still had to do no longer applies."""
        self._ticket += 1
        self._pending_jump = None
        self._queued.clear()
        self._searching = False
        self.busy = busy
        self.update_status()
        return self._ticket

    def action_sort(self, descending: bool) -> None:
        if self._ready() and self.table.current_column:
            self.sort(self.table.current_column, descending, self._new_move("sorting"))

    @work(thread=True, exclusive=True, group="datasets.sort", exit_on_error=False)
    def sort(self, column: str, descending: bool, ticket: int) -> None:
        self.view.sort(column, descending=descending)
        self.post_message(self.Sorted(column, descending, ticket))

    def on_browser_screen_sorted(self, message: BrowserScreen.Sorted) -> None:
        self.table.reload()
        if message.ticket == self._ticket:  # else a later jump or search has placed the cursor
            self.busy = ""
            self.table.move_to(0)
        self.update_header()

    def action_prompt(self, mode: str) -> None:
        if mode != "model" and not self._ready():
            return
        prompt = self.query_one("#data-prompt", Input)
        self.prompt_mode = mode
        placeholders = {
            "search": "search text (enter; then n / N)",
            "jump": f"row number (1-{self.table.row_count:,})",
            "model": f"model for token counts (now {self.model})",
        }
        prompt.placeholder = placeholders[mode]
        prompt.value = self.query_text if mode == "search" else ""
        prompt.add_class("visible")
        prompt.focus()

    def _hide_prompt(self) -> None:
        prompt = self.query_one("#data-prompt", Input)
        prompt.remove_class("visible")
        self.prompt_mode = ""
        self.table.focus()

    @on(Input.Submitted, "#data-prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        mode, value = self.prompt_mode, event.value.strip()
        self._hide_prompt()
        if not value:
            return
        if mode == "search":
            self.start_search(value, self.table.cursor_row - 1 if self.table.cursor_row > 0 else -1)
        elif mode == "jump":
            try:
                row = int(value.replace(",", "").replace("_", ""))
            except ValueError:
                self.notify(f"{value!r} is not a row number", severity="warning")
                return
            self.jump(row - 1)
        elif mode == "model":
            self.model = value
            self.update_status()

    def jump(self, pos: int) -> None:
        """Go to display row ``pos``; past the rows indexed so far, once they are."""
        self._new_move()
        if pos < self.table.row_count or self.source.done:
            self.table.move_to(pos)
        else:
            self._pending_jump = pos
            self.busy = f"going to row {pos + 1:,} once it is indexed"
            self.update_status()

    def start_search(self, text: str, start: int) -> None:
        self.query_text = text
        self._new_move()
        self._search_from(start, False)

    def _search_from(self, start: int, backwards: bool) -> None:
        self._searching = True
        self.busy = "searching"
        self.update_status()
        self.search(self.query_text, start, backwards, self._ticket)

    def action_search_next(self, backwards: bool) -> None:
        if not self.query_text:
            self.action_prompt("search")
            return
        if not self._ready():
            return
        if self._searching:  # goes on from the match of the search in flight
            self._queued.append(backwards)
            return
        self._new_move()
        self._search_from(self.table.cursor_row, backwards)

    @work(thread=True, exclusive=True, group="datasets.search", exit_on_error=False)
    def search(self, text: str, start: int, backwards: bool, ticket: int) -> None:
        self.post_message(self.Found(text, start, self.view.search(text, start, backwards=backwards), ticket))

    def on_browser_screen_found(self, message: BrowserScreen.Found) -> None:
        if message.ticket != self._ticket:  # a later jump, search or sort took over
            return
        self._searching = False
        self.busy = ""
        if message.pos is None:
            self._queued.clear()
            self.notify(f"no row contains {message.query!r}", severity="warning")
        else:
            if message.pos == message.start:  # wrapped around to where it started
                self.notify(f"row {message.pos + 1:,} is the only row containing {message.query!r}")
            self.table.move_to(message.pos)
        self.update_status()  # also when the cursor stays where it was (the only match)
        if self._queued:
            self._search_from(self.table.cursor_row, self._queued.pop(0))

    def action_close(self) -> None:
        if self.prompt_mode:
            self._hide_prompt()
        else:
            self.app.pop_screen()

    # -- modals and actions --------------------------------------------------------------------
    def action_frequency(self) -> None:
        from tailor.tui.widgets.data_detail import FrequencyScreen

        if self._ready() and self.table.current_column:
            self.app.push_screen(
                FrequencyScreen(self.source, self.table.current_column), self._frequency_picked
            )

    def _frequency_picked(self, value: str | None) -> None:
        if value:
            self.start_search(value, -1)

    def action_detail(self) -> None:
        from tailor.tui.widgets.data_detail import RowDetailScreen

        current = self.table.current
        if current is not None:
            self.app.push_screen(RowDetailScreen(current[1], self.fmt, self.model, number=current[0] + 1))

    def action_check(self) -> None:
        from tailor.engine.api.data import sibling_eval
        from tailor.tui.widgets.data_detail import QualityScreen

        if self._ready():
            self.app.push_screen(
                QualityScreen(self.source, self.fmt, self.model, eval_path=sibling_eval(self.path))
            )

    def action_new_recipe(self) -> None:
        if self._ready():
            self.make_recipe()

    @work(thread=True, exclusive=True, group="datasets.recipe", exit_on_error=False)
    def make_recipe(self) -> None:
        from tailor.engine.api.data import new_recipe

        path = self.path
        if Path(path).expanduser().exists():
            path = str(Path(path).expanduser().resolve())
        self.post_message(
            self.RecipeMade(new_recipe(self.tailor.workspace, path, self.fmt or "?", model=self.model))
        )

    def on_browser_screen_recipe_made(self, message: BrowserScreen.RecipeMade) -> None:
        self.notify(
            f"new recipe {message.path.name}: launch it from Runs (n) or `tailor run {message.path.stem}`"
        )
