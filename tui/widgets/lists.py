"""An OptionList with the vim keys every Tailor list has (j/k/g/G beside the arrows, home and end), the
same four moves for a dialog whose keys act on a list wherever the focus is, and a SelectionList whose
ticked and unticked rows read differently without colour."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import OptionList, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

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


class TickList(SelectionList[Any]):
    """A SelectionList drawing ``▐X▌`` for a ticked row and ``▐ ▌`` for an unticked one.

    Textual draws the same ``X`` in both states and tells them apart by colour alone, which a monochrome
    terminal (or a colour-blind reader) cannot see.
    """

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return line
        if selection.value in self._selected:
            return line
        segments = list(line)
        if len(segments) < 2:
            return line
        text, style, control = segments[1]
        segments[1] = Segment(" " * len(text), style, control)
        return Strip(segments, line.cell_length)
