"""Per-item flips between two models of an evaluation (key ``f`` on the Evals screen): per task — the own
task on its pass/fail metric and each canary — how many items went fail→pass and pass→fail (with
McNemar's exact p), then the flipped items themselves; enter opens one in the side-by-side view.
CLI twin: ``tailor eval RUN --flips A B`` (``--json`` too), computed by the same engine function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind
from tailor.tui.widgets.footer import TailorFooter
from tailor.tui.widgets.styles import theme_style
from tailor.tui.widgets.table import Table

if TYPE_CHECKING:
    from tailor.engine.api.evals import Flips


class EvalFlipsScreen(WorkerErrorsMixin, Screen[None]):
    @dataclass
    class Found(Message):
        flips: list[Flips]
        prompts: dict[tuple[str, int], str]

    DEFAULT_CSS = """
    EvalFlipsScreen #flips-title { height: 1; padding: 0 1; background: $panel; color: $accent; text-style: bold; }
    EvalFlipsScreen #flips-summary { height: auto; max-height: 40%; }
    EvalFlipsScreen #flips-items { height: 1fr; }
    EvalFlipsScreen #flips-status { height: 1; padding: 0 1; color: $foreground-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("eval_flips.cursor_down", "j", "cursor_down", "Down", show=False),
        bind("eval_flips.cursor_up", "k", "cursor_up", "Up", show=False),
        bind("eval_flips.first", "g", "first", "First", show=False),
        bind("eval_flips.last", "G", "last", "Last", show=False),
        bind("eval_flips.open", "enter", "open", "Side by side"),
        bind("eval_flips.close", "escape,q", "close", "Back"),
    ]

    def __init__(self, results: Any, a: str, b: str) -> None:
        super().__init__()
        self.results = results
        self.a, self.b = a, b
        self.flips: list[Any] = []
        self.items: list[tuple[str, str, int]] = []  # (task, metric, item index) per listed row

    def compose(self) -> ComposeResult:
        yield Static("", id="flips-title", markup=False)
        yield Table(id="flips-summary", cursor_type="none", zebra_stripes=True)
        yield Table(id="flips-items", cursor_type="row", zebra_stripes=True)
        yield Static("finding flips…", id="flips-status", markup=False)
        yield TailorFooter(compact=True)

    @property
    def table(self) -> DataTable:
        return self.query_one("#flips-items", DataTable)

    def label(self, model_id: str) -> str:
        try:
            return str(self.results.model(model_id).label)
        except KeyError:
            return model_id

    def on_mount(self) -> None:
        self.query_one("#flips-title", Static).update(f"Flips from A: {self.label(self.a)}  to  B: {self.label(self.b)}")
        self.table.focus()
        self.find()

    @work(thread=True, group="eval_flips.find", exclusive=True, exit_on_error=False)
    def find(self) -> None:
        from tailor.engine.api.evals import CANARIES, find_flips, iter_predictions

        flips = find_flips(self.results, self.a, self.b)
        prompts: dict[tuple[str, int], str] = {}
        for name in ("predictions.jsonl", CANARIES):
            kind = "canary" if name == CANARIES else "task"
            for rec in iter_predictions(self.results.path, name):
                prompts[(kind, int(rec.get("index", 0)))] = " ".join(str(rec.get("prompt", "")).split())[:200]
        self.post_message(self.Found(flips, prompts))

    def on_eval_flips_screen_found(self, message: EvalFlipsScreen.Found) -> None:
        self.flips = message.flips
        good, bad = theme_style(self.app, "success", bold=True), theme_style(self.app, "error", bold=True)
        summary = self.query_one("#flips-summary", DataTable)
        summary.clear(columns=True)
        summary.add_columns("task", "metric", "fail→pass", "pass→fail", "both pass", "both fail", "McNemar p")
        for f in self.flips:
            summary.add_row(f.task, f.metric, Text(str(len(f.fail_to_pass)), style=good),
                            Text(str(len(f.pass_to_fail)), style=bad), str(f.both_pass), str(f.both_fail), f"{f.p:.3g}")
        table = self.table
        table.clear(columns=True)
        table.add_columns("task", "#", "change", "prompt")
        self.items = []
        for f in self.flips:
            kind = "canary" if f.metric.startswith("canary/") else "task"
            for what, indices, style in (("fail→pass", f.fail_to_pass, good), ("pass→fail", f.pass_to_fail, bad)):
                for index in indices:
                    self.items.append((f.task, f.metric, index))
                    table.add_row(f.task, str(index + 1), Text(what, style=style),
                                  message.prompts.get((kind, index), "")[:80], key=f"{f.task}:{index}")
        total = len(self.items)
        self.query_one("#flips-status", Static).update(
            f"{total} flipped items · enter: open one side by side · j/k move · q back" if total
            else "no item changed between the two models")

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_first(self) -> None:
        if self.items:
            self.table.move_cursor(row=0)

    def action_last(self) -> None:
        if self.items:
            self.table.move_cursor(row=len(self.items) - 1)

    @on(DataTable.RowSelected, "#flips-items")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        if not self.items:
            return
        from tailor.engine.api.evals import CANARIES
        from tailor.tui.screens.eval_pair import EvalPairScreen

        _task, metric, index = self.items[self.table.cursor_row]
        canary = metric.startswith("canary/")
        self.app.push_screen(EvalPairScreen(self.results, self.a, self.b, source=CANARIES if canary else None,
                                            start=index, score="pass" if canary else None))

    def action_close(self) -> None:
        self.app.pop_screen()
