"""The runs table: stable row keys (run ids), only changed cells are rewritten.

Columns are chosen per width: below ``COMPACT_WIDTH`` the table shows short run names and what fits 80
columns (the full id is always in the detail pane); from there on it adds what tells runs apart (method,
LoRA r, learning rate, host), and from ``WIDEST_WIDTH`` the base model, the search trial and the elapsed
time. ``[tui] runs_columns`` in the settings replaces the wide choice with its own list of column keys.

Every layout fits its width: the columns of numbers keep their text, and the columns of names (run,
model, trial, host, state) share what is left, each cut with "…" beyond its share (``column_caps``), so
Eval and ETA are never pushed off the right edge by a long run name.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets.data_table import ColumnKey

from tailor.tui.keymap import bind
from tailor.tui.widgets.run_data import RunInfo
from tailor.tui.widgets.styles import state_text, theme_style
from tailor.tui.widgets.table import Table

COMPACT_WIDTH = 110
WIDEST_WIDTH = 160
#: Every column key and its header.
LABELS = {
    "mark": " ", "run": "Run", "name": "Run", "kind": "Kind", "method": "Method", "r": "r", "lr": "LR",
    "model": "Model", "trial": "Trial", "host": "Host", "state": "State", "step": "Step", "loss": "Loss",
    "eval": "Eval", "elapsed": "Elapsed", "eta": "ETA",
}
WIDE = tuple((k, LABELS[k]) for k in (
    "mark", "name", "kind", "method", "r", "lr", "host", "state", "step", "loss", "eval", "eta"))
WIDEST = tuple((k, LABELS[k]) for k in (
    "mark", "run", "kind", "method", "r", "lr", "model", "trial", "host", "state", "step", "loss", "eval",
    "elapsed", "eta"))
COMPACT = (("mark", " "), ("name", "Run"), ("state", "State"), ("step", "Step"), ("loss", "Loss"),
           ("eval", "Eval"), ("eta", "ETA"))
RIGHT = {"step", "loss", "eval", "elapsed", "eta", "r", "lr"}


def columns_for(width: int, configured: list[str] | None = None) -> tuple[tuple[str, str], ...]:
    """The columns at a terminal width (``configured``: the settings' list, used from COMPACT_WIDTH on)."""
    if width < COMPACT_WIDTH:
        return COMPACT
    if configured:
        keys = ["mark", *(k for k in configured if k in LABELS and k != "mark")]
        return tuple((k, LABELS[k]) for k in keys)
    return WIDEST if width >= WIDEST_WIDTH else WIDE


#: Room the columns of numbers and short words take (their widest usual text or header): ``300/300``,
#: ``0.6931``, ``1:23:45``, ``3.8e-4``. Wider values (``1.23e+05``) are rare and still shown whole.
USUAL_WIDTH = {"mark": 1, "kind": 4, "method": 6, "r": 3, "lr": 6, "step": 7, "loss": 6, "eval": 6,
               "elapsed": 7, "eta": 7}
#: Columns of names: (least width, share of the room left, most width worth giving).
NAME_COLUMNS = {"run": (14, 4.0, 44), "name": (14, 4.0, 44), "model": (10, 3.0, 36), "trial": (8, 1.5, 20),
                "host": (5, 1.5, 16), "state": (9, 2.0, 34)}
SCROLLBAR = 2  # the vertical scrollbar once the rows outgrow the table
PADDING = 2  # a cell's padding, both sides


def column_caps(spec: tuple[tuple[str, str], ...], width: int) -> dict[str, int]:
    """The most characters each column of names may show at ``width`` so that every column fits."""
    names = [k for k, _ in spec if k in NAME_COLUMNS]
    room = width - SCROLLBAR - PADDING * len(spec) - sum(USUAL_WIDTH.get(k, 0) for k, _ in spec if k not in NAME_COLUMNS)
    caps = {k: NAME_COLUMNS[k][0] for k in names}
    left = room - sum(caps.values())
    while left > 0:  # share the rest by weight, a column at its most width takes no more
        open_ = [k for k in names if caps[k] < NAME_COLUMNS[k][2]]
        if not open_:
            break
        weight = sum(NAME_COLUMNS[k][1] for k in open_)
        given = 0
        for k in open_:
            extra = min(max(1, int(left * NAME_COLUMNS[k][1] / weight)), NAME_COLUMNS[k][2] - caps[k], left - given)
            caps[k] += extra
            given += extra
            if given >= left:
                break
        left -= given
    return caps


def fit(text: str, cap: int | None) -> str:
    return text if cap is None or len(text) <= cap else text[: max(cap - 1, 0)] + "…"


MARK = "●"


class RunTable(Table):
    # enter on a row zooms, like z: one id (runs.zoom), so the help lists "enter, z" as one action
    BINDINGS = [bind("runs.zoom", "enter", "select_cursor", "Zoom detail", show=False)]
    DEFAULT_CSS = """
    RunTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cursor_foreground_priority="renderable")
        self.compact: bool | None = None
        self.spec: tuple[tuple[str, str], ...] = ()
        self.caps: dict[str, int] = {}  # column key -> most characters shown (columns of names)
        self.configured: list[str] = []  # [tui] runs_columns
        self._shown: dict[str, dict[str, str]] = {}  # row key -> plain cells as last rendered
        self._order: list[str] = []
        self._restore: str | None = None
        #: True once the table painted its current rows with settled column widths (tests wait on it).
        self.painted = False

    # -- columns ---------------------------------------------------------------
    @property
    def columns_spec(self) -> tuple[tuple[str, str], ...]:
        return self.spec

    def set_width(self, width: int) -> bool:
        """Choose the columns for a terminal width; True if they changed (the caller then re-syncs rows)."""
        spec = columns_for(width, self.configured)
        caps = column_caps(spec, width)
        if spec == self.spec and caps == self.caps:
            return False
        selected = self.selected_run
        self.compact = width < COMPACT_WIDTH
        self.spec = spec
        self.caps = caps
        self.clear(columns=True)
        self._shown.clear()
        self._order.clear()
        self.painted = False
        for key, label in self.columns_spec:
            self.add_column(Text(label, justify="right") if key in RIGHT else label, key=key)
        self._restore = selected
        return True

    def render_line(self, y: int):  # Strip
        if not self._require_update_dimensions:
            self.painted = True
        return super().render_line(y)

    # -- rows ------------------------------------------------------------------
    @property
    def selected_run(self) -> str | None:
        if not self.row_count or self.cursor_row < 0:
            return None
        try:
            return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        except Exception:  # the row vanished between two renders
            return None

    def select(self, run_id: str) -> None:
        if run_id in self._shown:
            self.move_cursor(row=self.get_row_index(run_id))

    def sync(self, infos: Iterable[RunInfo], marked: set[str], now: float) -> None:
        """Show exactly ``infos`` in this order; add/remove rows and rewrite only the changed cells."""
        if self.compact is None:
            self.set_width(self.app.size.width)
        infos = list(infos)
        wanted = [info.run_id for info in infos]
        wanted_set = set(wanted)
        kept = [rid for rid in self._order if rid in wanted_set]
        if kept != wanted[: len(kept)]:
            self._rebuild(infos, marked, now)
            return
        selected = self.selected_run
        for rid in self._order:
            if rid not in wanted_set:
                self.remove_row(rid)
                del self._shown[rid]
        self._order = kept
        for info in infos:
            if info.run_id in self._shown:
                self.refresh_rows([info], marked, now)
                continue
            cells = self._cells(info, marked, now)
            self.add_row(*(self._styled_cell(key, cells[key]) for key, _ in self.columns_spec), key=info.run_id)
            self.painted = False
            self._order.append(info.run_id)
            self._shown[info.run_id] = cells
        restore = self._restore or selected
        self._restore = None
        if restore and restore != self.selected_run:
            self.select(restore)

    def refresh_rows(self, infos: Iterable[RunInfo], marked: set[str], now: float) -> None:
        """Rewrite the changed cells of these runs' rows (runs without a row here are skipped)."""
        for info in infos:
            before = self._shown.get(info.run_id)
            if before is None:
                continue
            cells = self._cells(info, marked, now)
            for key, _ in self.columns_spec:
                if before.get(key) != cells[key]:
                    # Only a wider text widens the column: a narrower one would make the table measure
                    # every row of it again (each second, for a ticking ETA), and a column never shrinks.
                    grow = len(cells[key]) > self.columns[ColumnKey(key)].content_width
                    self.update_cell(info.run_id, key, self._styled_cell(key, cells[key]), update_width=grow)
                    self.painted = False
            self._shown[info.run_id] = cells

    def _rebuild(self, infos: list[RunInfo], marked: set[str], now: float) -> None:
        selected = self._restore or self.selected_run
        self.clear()
        self._shown.clear()
        self._order.clear()
        self._restore = selected
        self.sync(infos, marked, now)

    def restyle(self) -> None:
        """Re-render state cells with the current theme's colours."""
        for rid, cells in self._shown.items():
            self.update_cell(rid, "state", self._styled_cell("state", cells["state"]))

    # -- cells -----------------------------------------------------------------
    def _cells(self, info: RunInfo, marked: set[str], now: float) -> dict[str, str]:
        cells = {key: fit(text, self.caps.get(key)) for key, text in info.cells(now).items()}
        cells["mark"] = MARK if info.run_id in marked else " "
        return cells

    def _styled_cell(self, key: str, value: str) -> Text | str:
        if key == "state":
            return state_text(self.app, value)
        if key == "mark":
            return Text(value, style=theme_style(self.app, "accent", bold=True))
        if key in RIGHT:
            return Text(value, justify="right")
        return Text(value)
