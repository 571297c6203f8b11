"""The footer: Textual's Footer, recomposed at most once per refresh, showing only keys that fit whole.

Textual's Footer recomposes (removes and mounts a widget per key) on every bindings change; at start-up
the focus settling and the screen mounting change them several times in one frame, which cost a third
of Tailor's time to first paint. This one coalesces those into one recompose.

At 80 columns a screen's keys may not all fit: Textual would clip the last one mid-word ("o Or▏"). Here
keys are kept in binding order (a screen lists its most used first) while they fit whole, help (`?`)
always; the rest are one `?` away, in the help screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_WIDTH = 12  # "▏^p palette", docked on the right


def key_width(key: FooterKey) -> int:
    """Cells a compact key takes: "k Description" and a space."""
    return len(key.key_display) + (len(key.description) + 1 if key.description else 0) + 1


def fitting(widgets: list[Widget], width: int) -> list[Widget]:
    """The widgets to show in ``width`` cells: whole keys in order, help and the palette always."""
    keys = [w for w in widgets if isinstance(w, FooterKey) and not w.has_class("-command-palette")]
    reserved = sum(key_width(k) for k in keys if k.action in ("help", "app.help"))
    room = width - PALETTE_WIDTH - reserved
    shown: set[int] = set()
    for k in keys:
        if k.action in ("help", "app.help"):
            shown.add(id(k))
        elif key_width(k) <= room:
            room -= key_width(k)
            shown.add(id(k))
        else:
            room = -1  # keep the order: once one does not fit, later ones do not jump ahead
    return [w for w in widgets if not isinstance(w, FooterKey) or w.has_class("-command-palette") or id(w) in shown]


class TailorFooter(Footer):
    _recompose_pending = False
    _composed_width = 0

    def bindings_changed(self, screen: Screen) -> None:
        if self._recompose_pending:
            self._bindings_ready = True
            return
        super().bindings_changed(screen)
        if self._bindings_ready and screen.app.app_focus and self.is_attached and screen is self.screen:
            self._recompose_pending = True  # super() scheduled a recompose after the next refresh

    def compose(self) -> ComposeResult:
        width = self.size.width or self.app.size.width
        self._composed_width = width
        widgets = fitting(list(super().compose()), width)
        self.styles.grid_size_columns = max(1, sum(1 for w in widgets if isinstance(w, FooterKey)))
        yield from widgets

    def on_resize(self) -> None:
        if self._bindings_ready and self.size.width and self.size.width != self._composed_width:
            self.call_after_refresh(self.recompose)

    async def recompose(self) -> None:
        self._recompose_pending = False
        await super().recompose()
