"""Loss curves with textual-plotext: one run (train + eval loss) or several runs overlaid.

plotext takes ~0.2 s to import, a third of Tailor's start-up: ``Curves`` paints its frame at once and
imports the plot library in a thread, then mounts the plot inside itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import cache
from typing import Any

from textual import work
from textual.content import Content
from textual.widget import Widget

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.widgets.styles import theme_rgb

Point = tuple[float, float]
#: Theme variables that colour successive series (no hard-coded colours).
SERIES_VARIABLES = ("primary", "accent", "success", "error", "warning", "secondary", "foreground")


@cache
def plot_class() -> type:
    """The PlotextPlot subclass, defined on first use (importing textual_plotext is slow)."""
    from textual_plotext import PlotextPlot

    class LinePlot(PlotextPlot):
        DEFAULT_CSS = "LinePlot { height: 1fr; width: 1fr; }"

        def draw(self, series: list[tuple[str, list[Point], str]]) -> None:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            drawn = False
            for _label, points, variable in series:
                if not points:
                    continue
                kwargs: dict[str, Any] = {"marker": "braille" if len(points) > 3 else "dot"}  # few points: dots
                color = theme_rgb(self.app, variable)
                if color:
                    kwargs["color"] = color
                plt.plot([p[0] for p in points], [p[1] for p in points], **kwargs)
                drawn = True
            if not drawn:
                plt.xticks([])
                plt.yticks([])
            self.refresh()

    return LinePlot


class Curves(WorkerErrorsMixin, Widget):
    """``show([(label, points), ...])`` replaces every series; the legend is the border title."""

    DEFAULT_CSS = """
    Curves { height: 1fr; min-height: 6; border: round $border; padding: 0; }
    """

    def __init__(self, title: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self._series: list[tuple[str, list[Point], str]] = []
        self._signature: tuple = ()
        self.plot: Any = None  # the LinePlot once mounted

    def render(self) -> str:
        # Textual draws a bare widget as its CSS identifier ("Curves#detail-curves"): a blank frame instead
        # while the plot library loads.
        return ""

    @property
    def ready(self) -> bool:
        """The plot is mounted and shows the latest series (tests wait on this)."""
        return self.plot is not None and self.plot.is_mounted

    def on_mount(self) -> None:
        self.border_title = self._legend()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self.tailor.after_first_paint(self._load_plot)  # the import must not slow the first frame down

    @work(group="curves.plot", exit_on_error=False)
    async def _load_plot(self) -> None:
        cls = await asyncio.to_thread(plot_class)  # the import in a thread, the mount on the widget's loop
        await self._mount_plot(cls)

    async def _mount_plot(self, cls: type) -> None:
        plot = cls()
        await self.mount(plot)
        self.plot = plot
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
        parts: list[str | tuple[str, str]] = [(f"{self.title} ", "bold")] if self.title else []
        for label, points, variable in self._series:
            if points:
                parts += [("━━ ", f"${variable}"), (f"{label}  ", "")]
        if not any(points for _, points, _ in self._series):
            parts.append(("(no metrics yet)", "$foreground-muted"))
        return Content.assemble(*parts)

    def _draw(self) -> None:
        # The legend lives in the border title: plotext's own would hide the first points.
        self.border_title = self._legend()
        if self.plot is not None:
            self.plot.draw(self._series)
