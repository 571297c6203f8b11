"""Modal views of the Datasets browser: a row's detail (rendered through the chat template with the
trained-on tokens highlighted), a column's frequency table, and the quality report with its histogram.

Everything slow runs in thread workers: reading all rows, loading the tokenizer (transformers is imported
there, never at TUI start-up), tokenizing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, ProgressBar, Static

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind
from tailor.tui.widgets.styles import theme_style
from tailor.tui.widgets.table import Table

if TYPE_CHECKING:
    from tailor.engine.api.data import Frequency, QualityReport, Record, Rendered, RowSource

_TOKENIZERS: dict[str, Any] = {}
_TOK_LOCK = threading.Lock()

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 96%; max-width: 140; height: 94%;
    border: thick $primary; background: $surface; padding: 0 1;
}}
{name} .title {{ color: $accent; text-style: bold; height: auto; }}
{name} .hint {{ color: $foreground-muted; height: 1; }}
{name} .section {{ color: $secondary; text-style: bold; height: auto; margin-top: 1; }}  /* wraps at 80 columns */
{name} VerticalScroll {{ height: 1fr; }}
{name} DataTable {{ height: 1fr; }}
{name} ProgressBar {{ height: 1; }}
"""


def tokenizer_for(model: str) -> Any:
    """The tokenizer of ``model`` (cached; loads transformers on first use; call from a worker thread)."""
    with _TOK_LOCK:
        if model not in _TOKENIZERS:
            from tailor.engine.api.data import load_tokenizer
            from tailor.engine.api.recipes import ModelSpec

            _TOKENIZERS[model] = load_tokenizer(ModelSpec(name_or_path=model))
        return _TOKENIZERS[model]


class RowDetailScreen(WorkerErrorsMixin, ModalScreen[None]):
    """One row: its source JSON, its TRL form, and the token sequence the trainer will build from it."""

    @dataclass
    class Tokenized(Message):
        sequences: list[Rendered]
        rows: list[dict[str, Any]]
        error: str = ""

    DEFAULT_CSS = MODAL_CSS.format(name="RowDetailScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("datasets.detail_close", "escape,q", "close", "Close"),
        bind("datasets.detail_assistant_only", "a", "train_on", "Toggle train_on: assistant / all"),
        bind("datasets.detail_down", "j", "scroll_detail('down')", "Down", show=False),
        bind("datasets.detail_up", "k", "scroll_detail('up')", "Up", show=False),
        bind("datasets.detail_top", "g", "scroll_detail('home')", "Top", show=False),
        bind("datasets.detail_bottom", "G", "scroll_detail('end')", "Bottom", show=False),
    ]

    def __init__(self, record: Record, fmt: str | None, model: str, *, max_length: int | None = None,
                 number: int | None = None) -> None:
        super().__init__()
        # max_length None: the trainer's default for the model (engine.data.render.loss_plan)
        self.record, self.fmt, self.model, self.max_length = record, fmt, model, max_length
        self.number = number  # the row in file order, from 1 (`tailor data show FILE --row N` shows the same)
        self.train_on = "assistant"  # the SFT recipe's default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), classes="title", id="detail-title", markup=False)
            with VerticalScroll():
                yield Static("source row", classes="section")
                yield Static(self._source_text(), id="detail-source", markup=False)
                yield Static("as the trainer tokenizes it", classes="section", id="detail-rendered-title")
                yield Static("rendering with the model's chat template…", id="detail-rendered", markup=False)
            yield Static("a train_on: assistant / all · esc close", classes="hint")

    def _title(self) -> str:
        from tailor.engine.api.data import DESCRIPTIONS

        row = f"Row {self.number:,} · {self.record.loc}" if self.number is not None else f"Row {self.record.loc}"
        return f"{row} · {DESCRIPTIONS.get(self.fmt or '', 'unknown format')} · model {self.model}"

    def _source_text(self) -> str:
        if not self.record.ok:
            return f"malformed: {self.record.error}"
        return json.dumps(self.record.data, indent=2, ensure_ascii=False, default=str)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.render_row()

    def action_scroll_detail(self, where: str) -> None:
        getattr(self.query_one(VerticalScroll), f"action_scroll_{where}")()

    def action_train_on(self) -> None:
        self.train_on = "all" if self.train_on == "assistant" else "assistant"
        self.render_row()

    @work(thread=True, exclusive=True, group="datasets.detail", exit_on_error=False)
    def render_row(self) -> None:
        from tailor.engine.api.data import RowIssue, apply_columns, loss_plan, render_record

        if not self.record.ok or self.fmt is None:
            why = self.record.error if not self.record.ok else "the dataset's format is unknown"
            self.post_message(self.Tokenized([], [], f"nothing to render: {why}"))
            return
        tok = tokenizer_for(self.model)
        plan = loss_plan(tok, train_on=self.train_on, max_length=self.max_length or "default")
        try:  # the same function as `tailor data show --row` and the trainer's dataset
            seqs = render_record(apply_columns(self.record.data or {}, {}), self.fmt, tok, plan, self.model, self.record.loc)
        except RowIssue as exc:  # what training would refuse
            self.post_message(self.Tokenized([], [], f"refused: {exc}"))
            return
        self.post_message(self.Tokenized(seqs, []))

    def on_row_detail_screen_tokenized(self, message: RowDetailScreen.Tokenized) -> None:
        target = self.query_one("#detail-rendered", Static)
        if message.error:
            target.update(Text(message.error, style=theme_style(self.app, "warning")))
            return
        trained = theme_style(self.app, "success", bold=True) + Style(underline=True)
        muted = theme_style(self.app, "foreground-muted")
        out = Text()
        for seq in message.sequences:
            cut = f" · TRUNCATED at max_length {seq.max_length}" if seq.truncated else ""
            out.append(
                f"{seq.title}: {seq.tokens} tokens, {seq.trained} trained on (train_on: {self.train_on}){cut}\n",
                style="bold",
            )
            for text, on in seq.spans:
                out.append(text, style=trained if on else muted)
            out.append("\n\n")
        self.query_one("#detail-rendered-title", Static).update(
            f"as the trainer tokenizes it: {self.model} chat template, trained-on tokens highlighted"
        )
        target.update(out)

    def action_close(self) -> None:
        self.dismiss(None)


@dataclass
class Progress(Message):
    """How far a long read has got (0..1), with what it is doing; subclassed by each screen that posts it."""

    fraction: float
    text: str = ""


class FrequencyScreen(WorkerErrorsMixin, ModalScreen[str | None]):
    """Value counts of one column over every row (read in a worker, with progress)."""

    class Progressed(Progress):
        pass

    @dataclass
    class Ready(Message):
        result: Frequency

    DEFAULT_CSS = MODAL_CSS.format(name="FrequencyScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("datasets.frequency_close", "escape,q", "close", "Close"),
        bind("datasets.frequency_pick", "enter", "pick", "Search for this value"),
        bind("datasets.frequency_down", "j", "move('down')", "Down", show=False),
        bind("datasets.frequency_up", "k", "move('up')", "Up", show=False),
        bind("datasets.frequency_first", "g", "move('first')", "First", show=False),
        bind("datasets.frequency_last", "G", "move('last')", "Last", show=False),
    ]

    def __init__(self, source: RowSource, column: str) -> None:
        super().__init__()
        self.source, self.column = source, column

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Frequency of {self.column}", classes="title", id="freq-title", markup=False)
            yield ProgressBar(total=1.0, show_eta=False, id="freq-progress")
            yield Table(id="freq-table", cursor_type="row", zebra_stripes=True)
            yield Static("enter search for the value · esc close", classes="hint")

    def on_mount(self) -> None:
        self.count()

    @work(thread=True, exclusive=True, group="datasets.frequency", exit_on_error=False)
    def count(self) -> None:
        from tailor.engine.api.data import frequency

        result = frequency(self.source, self.column, progress=lambda f: self.post_message(self.Progressed(f)))
        self.post_message(self.Ready(result))

    def on_frequency_screen_progressed(self, message: FrequencyScreen.Progressed) -> None:
        self.query_one(ProgressBar).update(progress=message.fraction)

    def on_frequency_screen_ready(self, message: FrequencyScreen.Ready) -> None:
        result = message.result
        self.query_one(ProgressBar).display = False
        table = self.query_one(DataTable)
        present = max(1, result.total - result.missing)
        # count and % always fit: the value column gets what is left (long values end in "…")
        count_w = max(5, len(str(max((c for _, c in result.counts), default=0))))
        value_w = max(8, (table.size.width or self.app.size.width - 12) - count_w - 6 - 8)
        table.add_column("value", key="value", width=value_w)
        table.add_column("count", key="count", width=count_w)
        table.add_column("%", key="pct", width=6)
        for value, count in result.counts:
            shown = value or "(empty)"
            shown = shown if len(shown) <= value_w else shown[: value_w - 1] + "…"
            table.add_row(shown, count, Text(f"{100 * count / present:.1f}", justify="right"), key=value)
        title = f"Frequency of {self.column}: {result.distinct} distinct values in {result.total} rows"
        if result.missing:
            title += f", {result.missing} without it"
        self.query_one("#freq-title", Static).update(title)
        table.focus()

    def action_move(self, where: str) -> None:
        table = self.query_one(DataTable)
        if where in ("down", "up"):
            table.action_cursor_down() if where == "down" else table.action_cursor_up()
        elif table.row_count:
            table.move_cursor(row=0 if where == "first" else table.row_count - 1)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_pick()  # enter on the table (the table's own binding) searches too

    def action_pick(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            value = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or "")  # the whole value
            self.dismiss(value.rstrip("…") or None)

    def action_close(self) -> None:
        self.dismiss(None)


class QualityScreen(WorkerErrorsMixin, ModalScreen[None]):
    """The quality report: problems first, then token lengths with a histogram."""

    class Progressed(Progress):
        pass

    @dataclass
    class Ready(Message):
        report: QualityReport
        final: bool

    DEFAULT_CSS = MODAL_CSS.format(name="QualityScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("datasets.report_close", "escape,q", "close", "Close"),
        bind("datasets.report_down", "j", "scroll_report('down')", "Down", show=False),
        bind("datasets.report_up", "k", "scroll_report('up')", "Up", show=False),
        bind("datasets.report_top", "g", "scroll_report('home')", "Top", show=False),
        bind("datasets.report_bottom", "G", "scroll_report('end')", "Bottom", show=False),
    ]

    def action_scroll_report(self, where: str) -> None:
        getattr(self.query_one(VerticalScroll), f"action_scroll_{where}")()

    def __init__(
        self,
        source: RowSource,
        fmt: str | None,
        model: str,
        *,
        eval_path: str | None = None,
        max_length: int | None = None,
    ) -> None:
        super().__init__()
        self.source, self.fmt, self.model = source, fmt, model
        self.eval_path, self.max_length = eval_path, max_length  # None: the trainer's default for the model

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Quality of {self.source.label}", classes="title", markup=False)
            yield ProgressBar(total=1.0, show_eta=False, id="report-progress")
            yield Static("reading every row…", classes="hint", id="report-stage")
            with VerticalScroll():
                yield Static("", id="report-body")
                yield Static("", id="report-histogram")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.build()

    @work(thread=True, exclusive=True, group="datasets.report", exit_on_error=False)
    def build(self) -> None:
        from tailor.engine.api.data import add_overlap, add_token_lengths, open_rows, scan

        total = max(1, len(self.source))
        report = scan(
            self.source.iter_records(),
            self.source.label,
            fmt=self.fmt or "auto",
            progress=lambda f: self.post_message(self.Progressed(f * 0.5, "reading every row…")),
            total=total,
        )
        if self.eval_path:
            with open_rows(self.eval_path) as ev:
                ev.wait()
                add_overlap(report, scan(ev.iter_records(), ev.label, fmt=self.fmt or "auto", near=False))
        self.post_message(self.Ready(report, final=False))
        if report.converted:
            self.post_message(self.Progressed(0.5, f"counting tokens with {self.model}…"))
            from tailor.engine.api.data import loss_plan

            tok = tokenizer_for(self.model)
            add_token_lengths(
                report,
                tok,
                name=self.model,
                plan=loss_plan(tok, max_length=self.max_length if self.max_length else "default"),
                progress=lambda f: self.post_message(
                    self.Progressed(0.5 + f / 2, f"counting tokens with {self.model}…")
                ),
            )
        self.post_message(self.Ready(report, final=True))

    def on_quality_screen_progressed(self, message: QualityScreen.Progressed) -> None:
        self.query_one(ProgressBar).update(progress=message.fraction)
        if message.text:
            self.query_one("#report-stage", Static).update(message.text)

    def on_quality_screen_ready(self, message: QualityScreen.Ready) -> None:
        from tailor.engine.api.data import summary

        bad = theme_style(self.app, "warning")
        good = theme_style(self.app, "success")
        text = Text()
        for label, value, problem in summary(message.report):
            text.append(f"{label:<24} ", style="bold")
            text.append(value + "\n", style=bad if problem else good if value == "ok" or value.startswith("ok (") else "")
        self.query_one("#report-body", Static).update(text)
        self.query_one("#report-histogram", Static).update(self._histogram(message.report))
        if message.final:
            self.query_one(ProgressBar).display = False
            self.query_one("#report-stage", Static).update("esc close")

    def _histogram(self, report: Any) -> Text:
        lens = report.lengths
        if not lens or not lens.lengths:
            return Text("")
        buckets = lens.histogram(bins=16)
        top = max(c for _, _, c in buckets) or 1
        bar_style = theme_style(self.app, "accent")
        over_style = theme_style(self.app, "error")
        text = Text(
            f"\ntoken lengths ({lens.tokenizer}; max_length {lens.max_length} in red)\n", style="bold"
        )
        for low, high, count in buckets:
            text.append(f"{low:>6}-{high:<6} ")
            text.append(
                "█" * max(0, round(count / top * 40)),
                style=over_style if lens.max_length and high > lens.max_length else bar_style,
            )
            text.append(f" {count}\n")
        return text

    def action_close(self) -> None:
        self.dismiss(None)
