"""TailorScreen: the base of every top-level screen (nav bar, body, footer; typed app (``self.tailor``); worker errors)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind
from tailor.tui.widgets.footer import TailorFooter
from tailor.tui.widgets.navbar import NavBar

F = TypeVar("F", bound=Callable[..., Any])


def needs_items(method: F) -> F:
    """An action that acts on the selection: on an empty screen it answers with the screen's
    ``empty_hint()`` (what to do first) instead of doing nothing, silently."""

    @functools.wraps(method)
    def wrapper(self: TailorScreen, *args: Any, **kwargs: Any) -> Any:
        if self.hint_if_empty():
            return None
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class TailorScreen(WorkerErrorsMixin, Screen):
    #: The registry name of this screen (tui/screens/__init__.py); highlights the nav bar entry.
    SCREEN_NAME: ClassVar[str] = ""

    # enter or an arrow with nothing focused to take it (an empty screen hides its list): the hint.
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("screen.empty_key", "enter,down,up", "empty_key", "What to do first (an empty screen)", show=False),
    ]

    #: Actions (names without ``action_``) that need something to act on: on an empty screen they
    #: answer with ``empty_hint()`` instead of silence (wrapped by ``needs_items`` per class).
    NEEDS_ITEMS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("NEEDS_ITEMS", ()):
            setattr(cls, f"action_{name}", needs_items(getattr(cls, f"action_{name}")))

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

    def empty_hint(self) -> str | None:
        """Override: when there is nothing to act on, what to do first (None: there is something)."""
        return None

    def hint_if_empty(self) -> bool:
        """True (after showing the hint) when the screen has nothing to act on."""
        hint = self.empty_hint()
        if hint:
            self.notify(hint, timeout=4)
        return bool(hint)

    def action_empty_key(self) -> None:
        self.hint_if_empty()

    def compose(self) -> ComposeResult:
        yield NavBar(self.SCREEN_NAME)
        yield from self.compose_body()
        yield TailorFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        """Override: the screen's own widgets, between the nav bar and the footer."""
        yield from ()
