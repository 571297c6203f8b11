"""An OptionList with the vim keys every Tailor list has (j/k/g/G beside the arrows, home and end)."""

from __future__ import annotations

from textual.widgets import OptionList

from tui.keymap import bind


class VimOptionList(OptionList):
    BINDINGS = [
        bind("list.down", "j", "cursor_down", "Down", show=False),
        bind("list.up", "k", "cursor_up", "Up", show=False),
        bind("list.first", "g", "first", "First", show=False),
        bind("list.last", "G", "last", "Last", show=False),
    ]
