"""Loss curves with textual-plotext: one run (train + eval loss) or several runs overlaid."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual_plotext import PlotextPlot

from tui.widgets.styles import theme_rgb

Point = tuple[float, float]
#: Theme variables that colour successive series (no hard-coded colours).
SERIES_VARIABLES = ("primary", "accent", "success", "error", "warning", "secondary", "foreground")


class Curves(PlotextPlot):
    """A line plot; ``show([(label, points), ...])`` replaces every series and redraws."""

    DEFAULT_CSS = """
    Curves { height: 1fr; min-height: 6; border: round $border; padding: 0; }
    """

    def __init__(self, title: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self._series: list[tuple[str, Sequence[Point], str]] = []
        self._signature: tuple = ()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self._draw()

    def show(self, series: list[tuple[str, Sequence[Point]]], *, variables: Sequence[str] | None = None) -> None:
        variables = variables or SERIES_VARIABLES
        signature = tuple((label, len(points), points[-1] if points else None) for label, points in series)
        if signature == self._signature:
            return  # nothing new: skip the (comparatively costly) redraw
        self._signature = signature
        self._series = [
            (label, list(points), variables[i % len(variables)]) for i, (label, points) in enumerate(series)
        ]
        self._draw()

    def _legend(self) -> Content:
        """The legend lives in the border title: plotext's own would hide the first points."""
        parts: list[str | tuple[str, str]] = [(f"{self.title} ", "bold")] if self.title else []
        for label, points, variable in self._series:
            if points:
                parts += [("━━ ", f"${variable}"), (f"{label}  ", "")]
        if not any(points for _, points, _ in self._series):
            parts.append(("(no metrics yet)", "$foreground-muted"))
        return Content.assemble(*parts)

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.border_title = self._legend()
        drawn = False
        for label, points, variable in self._series:
            if not points:
                continue
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            color = theme_rgb(self.app, variable) if self.is_mounted else None
            marker = "braille" if len(points) > 3 else "dot"  # a few eval points stay visible as dots
            kwargs = {"marker": marker}
            if color:
                kwargs["color"] = color
            plt.plot(xs, ys, **kwargs)
            drawn = True
        if not drawn:
            plt.xticks([])
            plt.yticks([])
        self.refresh()
