"""Compare two or more runs: what differs in their recipes, their train and eval loss curves overlaid,
and a summary row per run; runs that are still training update live.

The parameter diff lists every recipe field (dotted, e.g. ``lora.r``) whose value is not the same in all
compared runs, read from each run's frozen recipe.yaml (tui/widgets/run_settings.py). Active runs are
polled every ``POLL_S`` for new events (read from the run directory or a remote run's mirror, which the
Runs screen keeps following underneath). CLI twin: ``tailor compare RUN RUN...`` (the summary and the diff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tailor.engine.api.runs import cost_cells, cost_events, number, run_cost
from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind
from tailor.tui.widgets.curves import Curves
from tailor.tui.widgets.run_data import RunInfo, short_name
from tailor.tui.widgets.run_settings import differing
from tailor.tui.widgets.table import Table

if TYPE_CHECKING:
    from tailor.engine.api.executors import Executor
    from tailor.engine.api.runs import Event, Status
    from tailor.tui.widgets.run_settings import RunSettings

POLL_S = 1.0

def diff_widths(headers: list[str], rows: list[tuple[str, list[str]]], width: int) -> list[int]:
    """The width of each column of the diff (the field, then one per run): a run's column holds its
    longest value, at most an equal share of what ``width`` leaves after the field names (long values
    wrap), never narrower than its header. DataTable pads each cell by one on either side."""
    field = max([len("Field")] + [len(key) for key, _values in rows])
    share = max(12, (width - field - 2 * (len(headers) + 1) - 1) // max(len(headers), 1))
    longest = [max([0] + [len(values[i]) for _key, values in rows]) for i in range(len(headers))]
    return [field] + [max(len(header), min(share, n)) for header, n in zip(headers, longest, strict=True)]


class CompareScreen(WorkerErrorsMixin, Screen[None]):
    @dataclass
    class RunLoaded(Message):
        """New events of one compared run and its current status (``settings`` on the first load)."""

        run_id: str
        status: Status
        events: list[Event]
        settings: RunSettings | None = None
        first: bool = False

    @dataclass
    class Polled(Message):
        """A round of updates of the active runs is done."""

        active: list[str] = field(default_factory=list)

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; padding: 0 1; background: $panel; color: $accent; text-style: bold; }
    CompareScreen #compare-plots { height: 1fr; min-height: 8; }
    CompareScreen Curves { width: 1fr; }
    CompareScreen #compare-table { height: auto; max-height: 30%; }
    CompareScreen #compare-diff-title { height: 1; padding: 0 1; color: $foreground-muted; }
    CompareScreen #compare-diff { height: auto; max-height: 35%; }
    """
    BINDINGS = [
        bind("compare.close", "escape,q", "close", "Back"),
        bind("compare.down", "j", "cursor_down", "Down", show=False),
        bind("compare.up", "k", "cursor_up", "Up", show=False),
        bind("compare.first", "g", "first", "First", show=False),
        bind("compare.last", "G", "last", "Last", show=False),
        bind("compare.switch", "tab", "switch", "Summary/diff", show=False),
    ]

    def __init__(self, runs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.runs = runs  # (run id, host)
        self.infos: dict[str, RunInfo] = {}
        self.settings: dict[str, RunSettings] = {}
        self.cost_events: dict[str, list[dict]] = {}  # per run: the events its cost cells are read from
        self.polls = 0  # completed update rounds (tests wait on this)

    def compose(self) -> ComposeResult:
        yield Static(f"Comparing {len(self.runs)} runs", id="compare-title", markup=False)
        with Horizontal(id="compare-plots"):
            yield Curves("Train loss", id="compare-train")
            yield Curves("Eval loss", id="compare-eval")
        yield Table(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Static("Recipe fields that differ", id="compare-diff-title", markup=False)
        yield Table(id="compare-diff", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        table.add_columns("Run", "State", "Steps", "Loss", "Best eval loss", "Wall", "Tokens", "Tok/s", "GPU-h")
        table.focus()
        self.load()
        self.set_interval(POLL_S, self._poll)

    @work(group="compare.load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        from tailor.tui.widgets.run_settings import read_settings

        app = self.tailor
        runs_dir = app.workspace.runs_dir
        for run_id, host in self.runs:
            status = await app.engine(partial(_status, run_id=run_id), host)
            events = await app.engine(partial(_events, run_id=run_id), host)
            settings = await app.bridge.call(partial(read_settings, runs_dir / run_id, status))
            self.post_message(self.RunLoaded(run_id, status, events, settings, first=True))
        self.post_message(self.Polled())

    def _poll(self) -> None:
        active = [(rid, host) for rid, host in self.runs if rid in self.infos and self.infos[rid].state.active]
        if active and not any(w.group == "compare.poll" and w.is_running for w in self.workers):
            self.poll(active)

    @work(group="compare.poll", exclusive=True, exit_on_error=False)
    async def poll(self, active: list[tuple[str, str]]) -> None:
        app = self.tailor
        for run_id, host in active:
            after = self.infos[run_id].last_seq
            status = await app.engine(partial(_status, run_id=run_id), host)
            events = await app.engine(partial(_events, run_id=run_id, after=after), host)
            self.post_message(self.RunLoaded(run_id, status, events))
        self.post_message(self.Polled([rid for rid, _ in active]))

    def on_compare_screen_run_loaded(self, message: CompareScreen.RunLoaded) -> None:
        info = self.infos.get(message.run_id)
        if info is None:
            host = dict(self.runs)[message.run_id]
            info = self.infos[message.run_id] = RunInfo(message.run_id, host, message.status)
        else:
            info.update_status(message.status)
        info.apply(message.events, live=not message.first)
        self.cost_events.setdefault(message.run_id, []).extend(cost_events(message.events))
        if message.settings is not None:
            self.settings[message.run_id] = message.settings
        self._redraw()

    def on_compare_screen_polled(self, message: CompareScreen.Polled) -> None:
        self.polls += 1

    def _redraw(self) -> None:
        ordered = [self.infos[rid] for rid, _ in self.runs if rid in self.infos]
        self.query_one("#compare-train", Curves).show([(short_name(i.run_id), i.loss) for i in ordered])
        self.query_one("#compare-eval", Curves).show([(short_name(i.run_id), i.eval_loss) for i in ordered])
        table = self.query_one("#compare-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for info in ordered:
            best = min((v for _, v in info.eval_loss if v == v), default=None)  # NaN is no best (nor a min's end)
            last = info.loss[-1][1] if info.loss else info.latest("loss")
            # A finished run's last loss is its final one; a running run's is only the latest so far.
            loss = number(last) if info.state.terminal or last is None else f"{number(last)} (step {info.progress()[0]})"
            step, total = info.progress()
            cost = cost_cells(run_cost(info.status, self.cost_events.get(info.run_id, [])))
            table.add_row(info.run_id, info.word, f"{step}/{total}" if total else str(step),
                          loss, number(best), cost["wall"], cost["tokens"], cost["tok/s"], cost["GPU-h"],
                          key=info.run_id)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._redraw_diff()

    def on_resize(self) -> None:
        self._redraw_diff()  # the value columns share the width

    def _redraw_diff(self) -> None:
        diff = self.query_one("#compare-diff", DataTable)
        diff.clear(columns=True)
        known = [rid for rid, _ in self.runs if rid in self.settings]
        if len(known) < len(self.runs):
            return  # wait for every run's recipe: a partial diff would mislead
        rows = differing([self.settings[rid].fields for rid in known])
        title = "Recipe fields that differ" if rows else "The recipes are identical (apart from name and description)"
        self.query_one("#compare-diff-title", Static).update(f"{title} (tab: switch tables)")
        headers = [short_name(rid) for rid in known]
        widths = diff_widths(headers, rows, self.size.width)
        for label, key, width in zip(["Field", *headers], ["field", *known], widths, strict=True):
            diff.add_column(label, key=key, width=width)
        for key, values in rows:
            # A long value (a path, a list of modules) wraps inside its column: every run's value stays on screen.
            diff.add_row(Text(key, style="bold"), *(Text(v, overflow="fold") for v in values), key=key, height=None)

    # -- keys ------------------------------------------------------------------
    @property
    def _focused_table(self) -> DataTable:
        focused = self.focused
        return focused if isinstance(focused, DataTable) else self.query_one("#compare-table", DataTable)

    def action_cursor_down(self) -> None:
        self._focused_table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self._focused_table.action_cursor_up()

    def action_first(self) -> None:
        self._focused_table.move_cursor(row=0)

    def action_last(self) -> None:
        table = self._focused_table
        table.move_cursor(row=max(0, table.row_count - 1))

    def action_switch(self) -> None:
        other = "#compare-diff" if self._focused_table.id == "compare-table" else "#compare-table"
        self.query_one(other, DataTable).focus()

    def action_close(self) -> None:
        self.app.pop_screen()


async def _status(ex: Executor, run_id: str) -> Status:
    return await ex.status(run_id)


async def _events(ex: Executor, run_id: str, after: int = 0) -> list[Event]:
    return await ex.events(run_id, after)
