"""Read-only text viewers: the effective recipe of a launch (the base file plus the form's overrides, and
its CLI twin), and any text file of a run (recipe, ``stderr.log``, events).

Long lines scroll horizontally (``w`` wraps them instead); j/k/g/G and the arrows scroll; ``e`` opens the
file in ``$PAGER`` (or ``$EDITOR``) outside the TUI; q/esc close.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind

if TYPE_CHECKING:
    from tailor.tui.screens.launch_checks import LaunchRequest

MAX_BYTES = 2_000_000  # show the end of bigger files (logs): the viewer is for reading, not archiving


def read_tail(path: Path, limit: int = MAX_BYTES) -> str:
    """The file's text (its last ``limit`` bytes for big ones), decoded leniently."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size > limit:
            fh.seek(size - limit)
        data = fh.read()
    head = f"… first {size - limit} bytes not shown …\n" if size > limit else ""
    return head + data.decode("utf-8", errors="replace")


class TextViewerScreen(WorkerErrorsMixin, ModalScreen[None]):
    DEFAULT_CSS = """
    TextViewerScreen { align: center middle; }
    TextViewerScreen > Vertical {
        width: 96%; height: 92%; border: thick $primary; background: $surface; padding: 0 1;
    }
    TextViewerScreen #viewer-title { text-style: bold; color: $accent; height: auto; }
    TextViewerScreen TextArea { height: 1fr; }
    TextViewerScreen #viewer-help { color: $foreground-muted; height: 1; }
    """
    BINDINGS = [
        bind("viewer.close", "escape,q", "close", "Close"),
        bind("viewer.down", "j", "down", "Down", show=False),
        bind("viewer.up", "k", "up", "Up", show=False),
        bind("viewer.top", "g", "top", "Top", show=False),
        bind("viewer.bottom", "G", "bottom", "Bottom", show=False),
        bind("viewer.wrap", "w", "wrap", "Wrap"),
        bind("viewer.external", "e", "external", "$PAGER"),
    ]

    def __init__(self, title: str, text: str = "", path: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="viewer-title", markup=False)
            yield TextArea(self.text, read_only=True, soft_wrap=False, show_line_numbers=False, id="viewer-text")
            helps = "j/k g/G scroll · w wrap · " + ("e $PAGER · " if self.path else "") + "q/esc close"
            yield Static(helps, id="viewer-help", markup=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        if self.path is not None and not self.text:
            self.load(self.path)

    @work(group="viewer.load", exclusive=True, exit_on_error=False)
    async def load(self, path: Path) -> None:
        text = await self.tailor.bridge.call(lambda: read_tail(path))
        self.query_one(TextArea).load_text(text)

    @property
    def area(self) -> TextArea:
        return self.query_one(TextArea)

    def action_down(self) -> None:
        self.area.action_cursor_down()

    def action_up(self) -> None:
        self.area.action_cursor_up()

    def action_top(self) -> None:
        self.area.move_cursor((0, 0))

    def action_bottom(self) -> None:
        self.area.move_cursor((self.area.document.line_count - 1, 0))

    def action_wrap(self) -> None:
        self.area.soft_wrap = not self.area.soft_wrap

    def action_external(self) -> None:
        if self.path is not None:
            self.open_external(self.app, self.path)

    @staticmethod
    def open_external(app: App[Any], path: Path) -> None:
        """Open ``path`` in $PAGER (else $EDITOR, else less) with the TUI suspended."""
        import subprocess

        command = os.environ.get("PAGER") or os.environ.get("EDITOR") or "less"
        try:
            with app.suspend():
                subprocess.run([*shlex.split(command), str(path)], check=False)
        except Exception as exc:  # no terminal to hand over (tests, web): say so
            app.notify(f"cannot open {command}: {exc}", severity="warning")

    def action_close(self) -> None:
        self.dismiss(None)


class RecipePreviewScreen(TextViewerScreen):
    """The effective recipe of a launch request and its CLI twin."""

    def __init__(self, request: LaunchRequest) -> None:
        from tailor.tui.screens.launch_checks import effective_recipe

        try:
            text = effective_recipe(request.recipe, request.overrides)
        except Exception as exc:  # an unreadable file: show why instead of the recipe
            text = f"cannot read {request.recipe}: {exc}"
        where = f" on {request.host}" if request.host and request.host != "local" else ""
        super().__init__(f"Effective recipe{where} · CLI: {request.cli()}", text)
