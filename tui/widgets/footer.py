"""The footer: Textual's Footer, recomposed at most once per refresh.

Textual's Footer recomposes (removes and mounts a widget per key) on every bindings change; at start-up
the focus settling and the screen mounting change them several times in one frame, which cost a third
of Tailor's time to first paint. This one coalesces those into one recompose.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class TailorFooter(Footer):
    _recompose_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        if self._recompose_pending:
            self._bindings_ready = True
            return
        super().bindings_changed(screen)
        if self._bindings_ready and screen.app.app_focus and self.is_attached and screen is self.screen:
            self._recompose_pending = True  # super() scheduled a recompose after the next refresh

    async def recompose(self) -> None:
        self._recompose_pending = False
        await super().recompose()
