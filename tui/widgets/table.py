"""A DataTable that never shows rows rendered before its column widths settled."""

from __future__ import annotations

from textual.widgets import DataTable


class Table(DataTable):
    """Textual caches rendered rows without the column widths in the cache key, and settles widths a
    moment after rows are added: rows drawn in between come back cut short (e.g. "unrea" for
    "unreachable") when the table repaints. Dropping the caches whenever dimensions change fixes that."""

    def _update_dimensions(self, new_rows) -> None:
        super()._update_dimensions(new_rows)
        clear = getattr(self, "_clear_caches", None)
        if clear is not None:
            clear()

    # An empty list answers its keys with the screen's hint (TailorScreen.empty_hint), never silence.
    def _hint_if_empty(self) -> bool:
        if self.row_count:
            return False
        hint = getattr(self.screen, "hint_if_empty", None)
        return bool(hint()) if callable(hint) else False

    def action_select_cursor(self) -> None:
        if not self._hint_if_empty():
            super().action_select_cursor()

    def action_cursor_down(self) -> None:
        if not self._hint_if_empty():
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if not self._hint_if_empty():
            super().action_cursor_up()
