"""RowTable: a virtualized table over a dataset's RowView (Line API; only visible rows are ever read).

The built-in DataTable keeps every row as widgets' data; this one asks the view for the page on screen
(a ``LineIndex`` pread + JSON parse, or an Arrow slice), so a 1M-row file scrolls like a 100-row one.
A row cursor and a column cursor (for sorting and frequency tables), a sticky header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tailor.tui.keymap import bind
from tailor.tui.widgets.styles import theme_style

if TYPE_CHECKING:
    from tailor.engine.api.data import Record, RowView

SEP = 2
LOC_WIDTH = 8
MAX_WIDTH = 36
PAGE_CACHE = 4000


class RowTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    RowTable {
        height: 1fr;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("datasets.cursor_down", "down,j", "cursor(1)", "Down", show=False),
        bind("datasets.cursor_up", "up,k", "cursor(-1)", "Up", show=False),
        bind("datasets.page_down", "pagedown,ctrl+f", "page(1)", "Page down", show=False),
        bind("datasets.page_up", "pageup,ctrl+b", "page(-1)", "Page up", show=False),
        bind("datasets.first", "home,g", "first", "First row", show=False),
        bind("datasets.last", "end,G", "last", "Last row", show=False),
        bind("datasets.column_left", "left,h", "column(-1)", "Column left", show=False),
        bind("datasets.column_right", "right,l", "column(1)", "Column right", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)
    cursor_col: reactive[int] = reactive(0)

    class CursorMoved(Message):
        def __init__(self, table: RowTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: RowView | None = None
        self.columns: list[str] = []
        self.widths: list[int] = []
        self._page: dict[int, tuple[int, Record]] = {}
        self._styles: dict[str, Style] = {}
        self._theme = ""

    # -- data ------------------------------------------------------------------------------------
    def set_view(self, view: RowView, columns: list[str]) -> None:
        self.view = view
        self.columns = columns
        sample = [r for _, r in view.records(0, 50)]
        self.widths = [self._width(c, sample) for c in columns]
        self.cursor_row = 0
        self.cursor_col = 0
        self.reload()

    def _width(self, column: str, sample: list[Record]) -> int:
        from tailor.engine.api.data import cell_text

        widest = max(
            (cell_len(cell_text((r.data or {}).get(column), MAX_WIDTH)) for r in sample if r.data), default=0
        )
        return max(4, min(MAX_WIDTH, max(cell_len(column), widest)))

    def reload(self) -> None:
        """Forget cached pages (after a sort) and resize to the view's current length."""
        self._page.clear()
        self.grow()
        self.refresh()

    def grow(self) -> None:
        """Follow a view whose length grows while its index is built."""
        rows = len(self.view) if self.view is not None else 0
        width = LOC_WIDTH + sum(w + SEP for w in self.widths)
        size = Size(width, rows + 1)
        if size != self.virtual_size:
            self.virtual_size = size
            self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.view) if self.view is not None else 0

    def row(self, pos: int) -> tuple[int, Record] | None:
        """(source row, record) at display position ``pos``, read a page at a time."""
        if self.view is None or not 0 <= pos < len(self.view):
            return None
        if pos not in self._page:
            if len(self._page) > PAGE_CACHE:
                self._page.clear()
            start = max(0, pos - 5)
            for k, item in enumerate(self.view.records(start, max(self.size.height, 20) + 10)):
                self._page[start + k] = item
        return self._page.get(pos)

    @property
    def current(self) -> tuple[int, Record] | None:
        return self.row(self.cursor_row)

    @property
    def current_column(self) -> str | None:
        return self.columns[self.cursor_col] if self.columns else None

    # -- cursor ----------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)

    def action_column(self, delta: int) -> None:
        if self.columns:
            self.cursor_col = max(0, min(len(self.columns) - 1, self.cursor_col + delta))

    def move_to(self, pos: int) -> None:
        # the view may have grown since the last grow() (indexing ends between two ticks): without this the
        # scroll below is clamped to the old height and the cursor's row is never painted
        self.grow()
        self.cursor_row = max(0, min(self.row_count - 1, pos))

    def _scroll(self, *, x: float | None = None, y: float | None = None) -> None:
        """Scroll at once so the cursor is on screen, whatever the scrollbars show.

        Textual ignores a scroll on an axis whose scrollbar is hidden, and shows or hides scrollbars only at
        the screen's next layout: a move made after the view grew past the table's height, but before that
        layout (the rows of a just-opened or just-indexed file), would leave the cursor's row off screen for
        good. ``force`` skips that check; the position is still clamped to the current virtual size."""
        self.scroll_to(x=x, y=y, animate=False, immediate=True, force=True)

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        if shown:  # a scroll forced while the bar was hidden did not move its thumb
            self.vertical_scrollbar.position = self.scroll_y

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        if shown:
            self.horizontal_scrollbar.position = self.scroll_x

    def watch_cursor_row(self, old: int, new: int) -> None:
        body = max(1, self.size.height - 1)
        top = round(self.scroll_y)
        if new < top:
            self._scroll(y=new)
        elif new >= top + body:
            self._scroll(y=new - body + 1)
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def watch_cursor_col(self, old: int, new: int) -> None:
        if self.widths:
            left = LOC_WIDTH + sum(w + SEP for w in self.widths[:new])
            right = left + self.widths[new]
            x = round(self.scroll_x)
            if left < x + LOC_WIDTH:
                self._scroll(x=max(0, left - LOC_WIDTH))
            elif right > x + self.size.width:
                self._scroll(x=right - self.size.width)
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def on_click(self, event: Any) -> None:
        y = event.y
        if y >= 1:
            self.move_to(round(self.scroll_y) + y - 1)

    # -- rendering -------------------------------------------------------------------------------
    def _style(self, name: str) -> Style:
        if self._theme != self.app.theme:
            self._theme = self.app.theme
            self._styles = {
                "header": theme_style(self.app, "foreground-muted", bold=True),
                "column": theme_style(self.app, "accent", bold=True) + Style(underline=True),
                "loc": theme_style(self.app, "foreground-muted"),
                "error": theme_style(self.app, "error"),
                "text": theme_style(self.app, "foreground"),
            }
        return self._styles[name]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            return self._header().crop_extend(scroll_x, scroll_x + width, None).simplify()
        pos = round(self.scroll_y) + y - 1
        item = self.row(pos)
        if item is None:
            return Strip.blank(width)
        return self._line(pos, item[1]).crop_extend(scroll_x, scroll_x + width, None).simplify()

    def _header(self) -> Strip:
        segs = [Segment(set_cell_size("row", LOC_WIDTH), self._style("header"))]
        for i, (name, w) in enumerate(zip(self.columns, self.widths, strict=True)):
            style = self._style("column") if i == self.cursor_col else self._style("header")
            segs.append(Segment(set_cell_size(name, w), style))
            segs.append(Segment(" " * SEP))
        return Strip(segs)

    def _line(self, pos: int, rec: Record) -> Strip:
        from tailor.engine.api.data import cell_text

        current = pos == self.cursor_row
        cursor = (
            Style(reverse=True)
            if current and self.has_focus
            else Style(reverse=True, dim=True)
            if current
            else None
        )
        where = rec.loc.line if rec.loc.line is not None else rec.loc.row
        segs = [Segment(set_cell_size(str(where), LOC_WIDTH - 1) + " ", _add(self._style("loc"), cursor))]
        if not rec.ok:
            text = f"! {rec.error}"
            total = sum(w + SEP for w in self.widths)
            segs.append(
                Segment(set_cell_size(text, max(total, cell_len(text))), _add(self._style("error"), cursor))
            )
            return Strip(segs)
        data = rec.data or {}
        for i, (name, w) in enumerate(zip(self.columns, self.widths, strict=True)):
            from tailor.engine.api.data import MISSING

            style = self._style("text")
            if current and i == self.cursor_col:
                style = style + Style(bold=True, underline=True)
            segs.append(Segment(set_cell_size(cell_text(data.get(name, MISSING), w), w), _add(style, cursor)))
            segs.append(Segment(" " * SEP, cursor))
        return Strip(segs)


def _add(style: Style, extra: Style | None) -> Style:
    return style + extra if extra is not None else style
