"""Compare runs: their train and eval loss curves overlaid, and a summary row per run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from engine.runs.format import number
from tui.errors import WorkerErrorsMixin
from tui.keymap import bind
from tui.widgets.curves import Curves
from tui.widgets.run_data import RunInfo, short_name
from tui.widgets.table import Table

if TYPE_CHECKING:
    from engine.runs.events import Event


class CompareScreen(WorkerErrorsMixin, Screen[None]):
    @dataclass
    class RunLoaded(Message):
        """One compared run's full event history (its status is already in ``infos``)."""

        run_id: str
        events: list[Event]

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; padding: 0 1; background: $panel; color: $accent; text-style: bold; }
    CompareScreen #compare-plots { height: 1fr; }
    CompareScreen Curves { width: 1fr; }
    CompareScreen DataTable { height: auto; max-height: 40%; }
    """
    BINDINGS = [bind("compare.close", "escape,q", "close", "Back")]

    def __init__(self, runs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.runs = runs  # (run id, host)
        self.infos: dict[str, RunInfo] = {}

    def compose(self) -> ComposeResult:
        yield Static(f"Comparing {len(self.runs)} runs", id="compare-title", markup=False)
        with Horizontal(id="compare-plots"):
            yield Curves("Train loss", id="compare-train")
            yield Curves("Eval loss", id="compare-eval")
        yield Table(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Run", "State", "Steps", "Final loss", "Best eval loss")
        table.focus()
        self.load()

    @work(group="compare.load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        app = self.app
        for run_id, host in self.runs:
            status = await app.engine(lambda ex, rid=run_id: ex.status(rid), host)  # type: ignore[attr-defined]
            events = await app.engine(lambda ex, rid=run_id: ex.events(rid), host)  # type: ignore[attr-defined]
            self.infos[run_id] = RunInfo(run_id, host, status)
            self.post_message(self.RunLoaded(run_id, events))

    def on_compare_screen_run_loaded(self, message: CompareScreen.RunLoaded) -> None:
        info = self.infos[message.run_id]
        info.apply(message.events, live=False)
        self._redraw()

    def _redraw(self) -> None:
        ordered = [self.infos[rid] for rid, _ in self.runs if rid in self.infos]
        self.query_one("#compare-train", Curves).show([(short_name(i.run_id), i.loss) for i in ordered])
        self.query_one("#compare-eval", Curves).show([(short_name(i.run_id), i.eval_loss) for i in ordered])
        table = self.query_one(DataTable)
        table.clear()
        for info in ordered:
            best = min((v for _, v in info.eval_loss), default=None)
            final = info.loss[-1][1] if info.loss else info.latest("loss")
            step, total = info.progress()
            table.add_row(info.run_id, info.state.value, f"{step}/{total}" if total else str(step),
                          number(final), number(best), key=info.run_id)

    def action_close(self) -> None:
        self.app.pop_screen()
