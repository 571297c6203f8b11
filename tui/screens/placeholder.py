"""An honest placeholder for a screen whose issue is still open (or whose module failed to import), and
``load_screen``, which falls back to it."""

from __future__ import annotations

import importlib

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Static

from tailor.engine.api.errors import one_line
from tailor.tui.screens import ScreenEntry
from tailor.tui.screens.base import TailorScreen


class PlaceholderScreen(TailorScreen):
    DEFAULT_CSS = """
    PlaceholderScreen #placeholder {
        width: auto;
        max-width: 70;
        border: round $border;
        padding: 1 2;
        color: $foreground-muted;
    }
    PlaceholderScreen #placeholder-error { color: $error; }
    """

    def __init__(self, item: ScreenEntry, error: str = "") -> None:
        super().__init__(name=item.name)
        self.item = item
        self.error = error
        self.SCREEN_NAME = item.name  # type: ignore[misc]  # per-instance: one class serves many screens

    def compose_body(self) -> ComposeResult:
        with Middle(), Center():
            text = (
                f"[b]{self.item.title}[/b]\n\n{self.item.about}\n\n"
                f"Not built yet: this screen arrives with its own issue.\n"
                f"Press [b]3[/b] for Runs, [b]?[/b] for help, [b]ctrl+p[/b] for every command."
            )
            yield Static(text, id="placeholder")
            if self.error:
                yield Static(f"{self.item.target} failed to load: {self.error}", id="placeholder-error")

    def on_mount(self) -> None:
        if self.error:
            self.notify(f"{self.item.title}: {self.error}", severity="error")


def load_screen(item: ScreenEntry) -> Screen:
    """An instance of the registered screen, or a placeholder when it is missing or broken."""
    module_name, class_name = item.target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return PlaceholderScreen(item)
        return PlaceholderScreen(item, error=one_line(exc))
    except Exception as exc:  # a broken screen must not take the app down
        return PlaceholderScreen(item, error=one_line(exc))
    cls = getattr(module, class_name, None)
    if cls is None:
        return PlaceholderScreen(item)
    try:
        return cls()
    except Exception as exc:
        return PlaceholderScreen(item, error=one_line(exc))
