"""An OptionList with the vim keys every Tailor list has (j/k/g/G beside the arrows, home and end), and the
same four moves for a dialog whose keys act on a list wherever the focus is."""

from __future__ import annotations

from textual.widgets import OptionList

from tailor.tui.keymap import bind


class VimOptionList(OptionList):
    BINDINGS = [
        bind("list.down", "j", "cursor_down", "Down", show=False),
        bind("list.up", "k", "cursor_up", "Up", show=False),
        bind("list.first", "g", "first", "First", show=False),
        bind("list.last", "G", "last", "Last", show=False),
    ]


class ListMoves:
    """``down``/``up``/``first``/``last`` actions of a dialog, applied to the list ``_list()`` returns."""

    def _list(self) -> OptionList:
        raise NotImplementedError

    def action_down(self) -> None:
        self._list().action_cursor_down()

    def action_up(self) -> None:
        self._list().action_cursor_up()

    def action_first(self) -> None:
        self._list().action_first()

    def action_last(self) -> None:
        self._list().action_last()
