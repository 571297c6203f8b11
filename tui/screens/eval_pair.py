"""Two models side by side, example by example: prompt, reference, both outputs, per-example scores.

Examples are listed most-disagreeing first (the gap, shown as ``|A−B|``: the difference of the two models'
per-example primary score on the table's scale, then examples whose outputs differ, ``≠``); ``n``/``p`` jump to the next/previous example where the outputs
differ, ``o`` switches to file order. Only short summaries are kept per example; the full example is
read from predictions.jsonl (by byte offset) when it is shown.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind
from tailor.tui.widgets.footer import TailorFooter
from tailor.tui.widgets.styles import theme_style
from tailor.tui.widgets.table import Table

if TYPE_CHECKING:
    from tailor.engine.api.evals import PredictionIndex

MAX_ROWS = 2000  # rows listed at most (the rest are reachable through a smaller eval set or the CLI)


class EvalPairScreen(WorkerErrorsMixin, Screen[None]):
    @dataclass
    class Indexed(Message):
        index: PredictionIndex

    @dataclass
    class ExampleLoaded(Message):
        index: int
        example: dict[str, Any] | None

    DEFAULT_CSS = """
    EvalPairScreen #pair-title { height: 1; padding: 0 1; background: $panel; color: $accent; text-style: bold; }
    EvalPairScreen #pair-examples { height: 40%; }
    EvalPairScreen #pair-detail { height: 1fr; padding: 0 1; border-top: solid $border; }
    EvalPairScreen #pair-status { height: 1; padding: 0 1; color: $foreground-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("eval_pair.cursor_down", "j", "cursor_down", "Down", show=False),
        bind("eval_pair.cursor_up", "k", "cursor_up", "Up", show=False),
        bind("eval_pair.first", "g", "first", "First", show=False),
        bind("eval_pair.last", "G", "last", "Last", show=False),
        bind("eval_pair.detail_down", "J,shift+down", "detail(1)", "Scroll detail down", show=False),
        bind("eval_pair.detail_up", "K,shift+up", "detail(-1)", "Scroll detail up", show=False),
        bind("eval_pair.next", "n", "next_disagreement", "Next disagreement"),
        bind("eval_pair.previous", "p", "previous_disagreement", "Previous disagreement"),
        bind("eval_pair.most", "d", "most", "Most disagreement"),
        bind("eval_pair.order", "o", "order", "Order"),
        bind("eval_pair.swap", "w", "swap", "Swap A/B", show=False),
        bind("eval_pair.close", "escape,q", "close", "Back"),
    ]

    def __init__(self, results: Any, a: str, b: str, *, source: str | None = None, start: int | None = None,
                 score: str | None = None) -> None:
        """``source``: canaries.jsonl for canary items (default predictions.jsonl); ``start``: the item to
        open on (from the flips list); ``score``: the per-item score to rank by (default the task's)."""
        super().__init__()
        self.results = results
        self.a, self.b = a, b
        self.source = source
        self.start = start
        self.score = score or results.primary
        self.index: Any = None
        self.by_disagreement = True
        self.shown: int | None = None  # example index in the detail pane
        self.rows: list[dict[str, Any]] = []
        self.detail_text = Text()

    def compose(self) -> ComposeResult:
        yield Static("", id="pair-title", markup=False)
        yield Table(id="pair-examples", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="pair-detail"):
            yield Static("", id="pair-body")
        yield Static("", id="pair-status", markup=False)
        yield TailorFooter(compact=True)

    @property
    def table(self) -> DataTable:
        return self.query_one("#pair-examples", DataTable)

    def label(self, model_id: str) -> str:
        try:
            return self.results.model(model_id).label
        except KeyError:
            return model_id

    def on_mount(self) -> None:
        self.query_one("#pair-title", Static).update(f"A: {self.label(self.a)}   vs   B: {self.label(self.b)}")
        self.table.focus()
        self.build_index()

    @work(thread=True, group="eval_pair.index", exclusive=True, exit_on_error=False)
    def build_index(self) -> None:
        from tailor.engine.api.evals import PredictionIndex

        if self.source:
            index = PredictionIndex(self.results.path, self.a, self.b, self.score, self.source)
        else:
            index = PredictionIndex(self.results.path, self.a, self.b, self.score)
        self.post_message(self.Indexed(index))

    def on_eval_pair_screen_indexed(self, message: EvalPairScreen.Indexed) -> None:
        self.index = message.index
        self.fill()

    def fill(self) -> None:
        if self.index is None:
            return
        rows = self.index.by_disagreement() if self.by_disagreement else self.index.by_index()
        self.rows = rows[:MAX_ROWS]
        from tailor.engine.api.evals import METRICS, score_metric, title

        score = self.score or "score"
        metric = score_metric(score)
        known = metric in METRICS
        score = title(metric) if known else score
        table = self.table
        muted = theme_style(self.app, "foreground-muted")
        warn = theme_style(self.app, "warning", bold=True)
        with self.app.batch_update():
            table.clear(columns=True)
            # the gap, said as what it is: |A−B| of the per-example score, on the score columns' scale;
            # ≠ equal scores but different outputs, = identical outputs
            table.add_columns("#", "|A−B|", f"A {score}", f"B {score}", "prompt")
            for r in self.rows:
                style = warn if r["gap"] > 0 else ("" if r["differs"] else muted)
                gap = _fmt(r["gap"], metric if known else None) if r["gap"] else ("≠" if r["differs"] else "=")
                table.add_row(
                    Text(str(r["index"]), style=style),
                    Text(gap, style=style, justify="right"),
                    _num(r["score_a"], metric if known else None),
                    _num(r["score_b"], metric if known else None),
                    Text(r["prompt"].replace("\n", " ")[:80], style=style),
                    key=str(r["index"]),
                )
        n_gap = sum(1 for r in rows if r["gap"] > 0)
        n_diff = sum(1 for r in rows if r["differs"])
        more = f" (showing {MAX_ROWS})" if len(rows) > MAX_ROWS else ""
        order = "most disagreement first" if self.by_disagreement else "file order"
        self.query_one("#pair-status", Static).update(
            f"{len(rows)} examples{more} · |A−B| > 0: {n_gap} · outputs differ: {n_diff} · {order}"
        )
        if self.rows:
            at = next((i for i, r in enumerate(self.rows) if r["index"] == self.start), 0)
            self.start = None  # only the first fill opens on the flipped item
            table.move_cursor(row=at)
            self.show(self.rows[at]["index"])

    @on(DataTable.RowHighlighted, "#pair-examples")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show(int(str(event.row_key.value)))

    def show(self, index: int) -> None:
        if index != self.shown:
            self.shown = index
            self.load_example(index)

    @work(thread=True, group="eval_pair.example", exclusive=True, exit_on_error=False)
    def load_example(self, index: int) -> None:
        self.post_message(self.ExampleLoaded(index, self.index.get(index) if self.index else None))

    def on_eval_pair_screen_example_loaded(self, message: EvalPairScreen.ExampleLoaded) -> None:
        if message.index == self.shown:
            self.query_one("#pair-body", Static).update(self.render_example(message.example))

    def render_example(self, ex: dict[str, Any] | None) -> Any:
        if ex is None:
            return Text("(example not found)")
        app = self.app
        head = theme_style(app, "accent", bold=True)
        diff_style = theme_style(app, "warning", bold=True) + Style(underline=True)
        outs = ex.get("outputs") or {}
        out_a, out_b = str(outs.get(self.a, "")), str(outs.get(self.b, ""))
        text = Text()
        text.append(f"example {ex.get('index')}\n", style=head)
        text.append("prompt     ", style=head)
        text.append(f"{ex.get('prompt', '')}\n")
        if ex.get("reference") is not None:
            text.append("reference  ", style=head)
            text.append(f"{ex.get('reference')}\n")
        if ex.get("chosen") is not None:
            text.append("rejected   ", style=head)
            text.append(f"{ex.get('rejected')}\n")
        marked_a, marked_b = diff_texts(out_a, out_b, diff_style)
        text.append("A ", style=head)
        text.append(f"{self.label(self.a)}\n", style=head)
        text.append_text(marked_a)
        text.append("\nB ", style=head)
        text.append(f"{self.label(self.b)}\n", style=head)
        text.append_text(marked_b)
        text.append("\n")
        self.detail_text = text  # what the detail pane shows, minus the scores table (tests read it)
        return _Group(text, self.scores_table(ex))

    def scores_table(self, ex: dict[str, Any]) -> RichTable:
        good = theme_style(self.app, "success", bold=True)
        scores = ex.get("scores") or {}
        sa, sb = scores.get(self.a, {}), scores.get(self.b, {})
        table = RichTable(box=None, pad_edge=False, header_style=theme_style(self.app, "accent", bold=True))
        for col in ("score", "A", "B", "B - A"):
            table.add_column(col, justify="left" if col == "score" else "right")
        from tailor.engine.api.evals import METRICS, fmt_delta, score_delta, score_metric, title

        lower_better = {"loss"}
        for key in sorted((set(sa) | set(sb)) - {"tokens"}):  # tokens: the loss's weight, not a score
            va, vb = sa.get(key), sb.get(key)
            metric = score_metric(key)  # the table's scale and name: EM % 0-100, BLEU % (sentence-level)...
            known = metric in METRICS
            cells_a, cells_b = Text(_fmt(va, metric if known else None)), Text(_fmt(vb, metric if known else None))
            delta = ""
            diff = score_delta(va, vb)
            if diff is not None:
                delta = fmt_delta(metric, diff) if known else f"{diff:+.4g}"
                if va != vb:
                    better_b = (vb < va) if key in lower_better else (vb > va)
                    (cells_b if better_b else cells_a).stylize(good)
            table.add_row(title(metric) if known else key, cells_a, cells_b, delta)
        return table

    # -- keys ---------------------------------------------------------------------------------------
    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_first(self) -> None:
        if self.rows:
            self.table.move_cursor(row=0)

    def action_last(self) -> None:
        if self.rows:
            self.table.move_cursor(row=len(self.rows) - 1)

    def action_detail(self, lines: int) -> None:
        self.query_one("#pair-detail", VerticalScroll).scroll_relative(y=lines, animate=False)

    def _jump(self, step: int) -> None:
        """Move to the next (step 1) or previous (-1) listed example whose outputs or scores differ."""
        if not self.rows:
            return
        here = self.table.cursor_row
        i = here + step
        while 0 <= i < len(self.rows):
            if self.rows[i]["gap"] > 0 or self.rows[i]["differs"]:
                self.table.move_cursor(row=i)
                return
            i += step
        self.notify("no further example where the two models disagree", timeout=3)

    def action_next_disagreement(self) -> None:
        self._jump(1)

    def action_previous_disagreement(self) -> None:
        self._jump(-1)

    def action_most(self) -> None:
        if not self.by_disagreement:
            self.by_disagreement = True
            self.fill()
        elif self.rows:
            self.table.move_cursor(row=0)

    def action_order(self) -> None:
        self.by_disagreement = not self.by_disagreement
        self.shown = None
        self.fill()

    def action_swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.shown = None
        self.on_mount()

    def action_close(self) -> None:
        self.app.pop_screen()


class _Group:
    """A Rich renderable stacking a Text and a Table (rich.console.Group without the import cost)."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from self.parts


def diff_texts(a: str, b: str, style: Any) -> tuple[Text, Text]:
    """Both strings with the characters that differ from the other one highlighted."""
    ta, tb = Text(a or "(empty)"), Text(b or "(empty)")
    if not a or not b or a == b:
        return ta, tb
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            if i2 > i1:
                ta.stylize(style, i1, i2)
            if j2 > j1:
                tb.stylize(style, j1, j2)
    return ta, tb


def _fmt(value: Any, metric: str | None = None) -> str:
    from tailor.engine.api.runs import number

    if isinstance(value, int | float) and not isinstance(value, bool) and metric is not None:
        from tailor.engine.api.evals import fmt_value

        return fmt_value(metric, value)
    return "-" if value is None else number(value)


def _num(value: Any, metric: str | None = None) -> Text:
    return Text(_fmt(value, metric), justify="right")
