"""TailorScreen: the base of every top-level screen (nav bar, body, footer; typed app; worker errors)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen

from tui.errors import WorkerErrorsMixin
from tui.widgets.footer import TailorFooter
from tui.widgets.navbar import NavBar

if TYPE_CHECKING:
    from tui.app import TailorApp


class TailorScreen(WorkerErrorsMixin, Screen):
    #: The registry name of this screen (tui/screens/__init__.py); highlights the nav bar entry.
    SCREEN_NAME: ClassVar[str] = ""

    @property
    def tailor(self) -> TailorApp:
        return self.app  # type: ignore[return-value]

    _environment_seen = False

    def on_mount(self) -> None:
        if self.tailor.environment_ready:
            self.call_later(self._environment_loaded)
        else:
            self.tailor.environment_signal.subscribe(self, lambda _settings: self._environment_loaded())

    def _environment_loaded(self) -> None:
        if self._environment_seen:
            return
        self._environment_seen = True
        self.query(NavBar).refresh()
        self.environment_ready()

    def environment_ready(self) -> None:
        """Override: called once ``self.tailor.settings`` and ``.workspace`` are loaded.

        ``tailor`` paints its first frame before loading them; start work that needs them here.
        """

    def compose(self) -> ComposeResult:
        yield NavBar(self.SCREEN_NAME)
        yield from self.compose_body()
        yield TailorFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        """Override: the screen's own widgets, between the nav bar and the footer."""
        yield from ()
