"""Theme variables as Rich styles, for places CSS cannot reach (DataTable cells, plot lines)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color

#: The theme variable that colours each run state.
STATE_VARIABLE = {
    "queued": "foreground-muted",
    "running": "accent",
    "succeeded": "success",
    "failed": "error",
    "cancelled": "warning",
    "stalled": "warning",  # "stalled (no heartbeat for ...)": a live worker that stopped beating
    "corrupt": "error",
    "pruned": "warning",  # a search trial stopped by the pruner (as the Search screen says)
}


def theme_color(app: App, variable: str) -> Color | None:
    value = app.theme_variables.get(variable)
    if not value:
        return None
    try:
        color = Color.parse(value)
        if color.a < 1:  # e.g. foreground-muted: blend onto the background as the terminal would
            color = Color.parse(app.theme_variables.get("background", "black")) + color
        return color
    except Exception:  # a theme without this variable: fall back to the default colour
        return None


def theme_style(app: App, variable: str, *, bold: bool = False) -> Style:
    color = theme_color(app, variable)
    return Style(color=color.rich_color if color else None, bold=bold)


def theme_rgb(app: App, variable: str) -> tuple[int, int, int] | None:
    color = theme_color(app, variable)
    return (color.r, color.g, color.b) if color else None


def state_text(app: App, state: str) -> Text:
    return Text(state, style=theme_style(app, STATE_VARIABLE.get(state.split(" ")[0], "foreground"), bold=state == "running"))
