"""Loss curves with textual-plotext: one run (train + eval loss) or several runs overlaid.

plotext takes ~0.2 s to import, a third of Tailor's start-up: ``Curves`` paints its frame at once and
imports the plot library in a thread, then mounts the plot inside itself.

Events keep NaN and infinities (a diverged loss is information) and readers may hand any value: plotext
raises on them (``cannot convert float NaN to integer``, ``OverflowError``), so ``plottable`` turns every
series into finite segments first. A value that is not a number or NaN is a gap (the line breaks); an
infinity or a value beyond ``EXTREME`` is a clipped point, drawn as ``CLIP_MARKER`` at the edge of the
visible range. The legend says how many of each a series has.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
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
#: Beyond this magnitude a value is clipped: plotext's tick arithmetic overflows long before 1e308, and
#: one such point would flatten every real one into the bottom row anyway.
EXTREME = 1e12
CLIP_MARKER = "×"


@dataclass
class Plottable:
    """A series made safe to plot: finite line ``segments``, ``clipped`` points (at the visible edge) and
    the number of ``gaps`` (NaN or not a number)."""

    segments: list[list[Point]] = field(default_factory=list)
    clipped: list[Point] = field(default_factory=list)
    gaps: int = 0

    @property
    def empty(self) -> bool:
        return not self.segments and not self.clipped

    def note(self) -> str:
        """``2 clipped, 1 gap`` (empty when the series is clean)."""
        parts = []
        if self.clipped:
            parts.append(f"{len(self.clipped)} clipped")
        if self.gaps:
            parts.append(f"{self.gaps} gap{'s' if self.gaps > 1 else ''}")
        return ", ".join(parts)


def _finite(value: object) -> float | None:
    """``value`` as a float, +-inf for numbers too large for one, None for what is not a number (or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond a float
        return math.inf if value > 0 else -math.inf
    return None if math.isnan(number) else number


def plottable(points: Sequence[object]) -> Plottable:
    """Split ``points`` ((x, y) pairs, any values) into what plotext can draw without raising."""
    pairs: list[tuple[float | None, float | None]] = []
    for point in points:
        if not isinstance(point, tuple | list) or len(point) != 2:
            pairs.append((None, None))  # not a point at all: a gap
            continue
        pairs.append((_finite(point[0]), _finite(point[1])))
    shown = [y for x, y in pairs if x is not None and abs(x) <= EXTREME and y is not None and abs(y) <= EXTREME]
    lo, hi = (min(shown), max(shown)) if shown else (0.0, 1.0)
    out = Plottable()
    line: list[Point] = []
    for x, y in pairs:
        if x is None or abs(x) > EXTREME or y is None:
            out.gaps += 1
        elif abs(y) > EXTREME:
            out.clipped.append((x, hi if y > 0 else lo))
        else:
            line.append((x, y))
            continue
        if line:  # the line breaks at a gap or a clipped point
            out.segments.append(line)
            line = []
    if line:
        out.segments.append(line)
    return out


@cache
def plot_class() -> type:
    """The PlotextPlot subclass, defined on first use (importing textual_plotext is slow)."""
    from textual_plotext import PlotextPlot

    class LinePlot(PlotextPlot):
        DEFAULT_CSS = "LinePlot { height: 1fr; width: 1fr; }"

        def draw(self, series: list[tuple[str, Plottable, str]]) -> None:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            drawn = False
            for _label, points, variable in series:
                if points.empty:
                    continue
                color = theme_rgb(self.app, variable)
                style: dict[str, Any] = {"color": color} if color else {}
                few = sum(len(s) for s in points.segments) <= 3  # few points: dots
                for segment in points.segments:
                    marker = "dot" if few or len(segment) == 1 else "braille"
                    plt.plot([p[0] for p in segment], [p[1] for p in segment], marker=marker, **style)
                if points.clipped:
                    plt.scatter([p[0] for p in points.clipped], [p[1] for p in points.clipped],
                                marker=CLIP_MARKER, **style)
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
        self._series: list[tuple[str, Plottable, str]] = []
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

    def show(self, series: list[tuple[str, Sequence[Any]]], *, variables: Sequence[str] | None = None) -> None:
        """Replace every series; points are (x, y) pairs of any values (see ``plottable``)."""
        variables = variables or SERIES_VARIABLES
        # repr, not the values: NaN != NaN would make every signature new
        signature = tuple((label, len(points), repr(points[-1]) if points else None) for label, points in series)
        if signature == self._signature:
            return  # nothing new: skip the (comparatively costly) redraw
        self._signature = signature
        self._series = [
            (str(label), plottable(points), variables[i % len(variables)]) for i, (label, points) in enumerate(series)
        ]
        self._draw()

    def _legend(self) -> Content:
        parts: list[str | tuple[str, str]] = [(f"{self.title} ", "bold")] if self.title else []
        for label, points, variable in self._series:
            if not points.empty:
                parts += [("━━ ", f"${variable}"), (f"{label}  ", "")]
            note = points.note()
            if note:  # a clipped point or a gap is marked, never silently dropped
                parts.append((f"({note}: {CLIP_MARKER} at the edge)  " if points.clipped else f"({note})  ",
                              "$warning"))
        if all(points.empty for _, points, _ in self._series):
            parts.append(("(no metrics yet)", "$foreground-muted"))
        return Content.assemble(*parts)

    def _draw(self) -> None:
        # The legend lives in the border title: plotext's own would hide the first points.
        self.border_title = self._legend()
        if self.plot is not None:
            self.plot.draw(self._series)
