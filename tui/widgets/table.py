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
