"""The one-line bar at the top: app name, the numbered screens (current one highlighted), workspace.

Where the titles do not all fit (below about 80 columns) the other screens show their number only, so
every screen stays visible and clickable at 60 columns; the current one keeps its title.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tailor.tui.context import AppAccess
from tailor.tui.screens import SCREENS

# "Tailor" and the two spaces after it, then " N Title " and a space per screen.
FULL_WIDTH = len("Tailor  ") + sum(len(f" {item.key} {item.title} ") + 1 for item in SCREENS)


class NavBar(AppAccess, Static):
    DEFAULT_CSS = """
    NavBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__(id="navbar")
        self.current = current

    def render(self) -> Content:  # drawn in the very first frame (no update round trip)
        return self.render_bar()

    def render_bar(self) -> Content:
        width = self.content_region.width
        full = not width or width >= FULL_WIDTH  # redrawn on resize; 0 before the first layout
        parts: list[Content | str | tuple[str, str]] = [("Tailor", "bold $accent"), "  "]
        for item in SCREENS:
            label = f" {item.key} {item.title} " if full or item.name == self.current else f" {item.key} "
            if item.name == self.current:
                parts.append((label, "bold reverse $primary"))
            else:
                parts.append(Content.from_markup(f"[@click=app.goto('{item.name}')]$label[/]", label=label))
            parts.append(" ")
        workspace = self.tailor.loaded_workspace
        if workspace is not None:
            parts.append((f"  {workspace.root.name}", "$foreground-muted"))
        return Content.assemble(*parts)
