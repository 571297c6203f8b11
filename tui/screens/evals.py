"""The Evals screen: stored evaluations, and the selected one as a models x metrics table.

Top: every run of the workspace with ``eval/results.json`` (eval runs and training runs evaluated at the
end of training), newest first, re-scanned every few seconds (a running evaluation fills in model by
model). Below: the models x metrics table of the highlighted evaluation, with the delta against the base
model in each cell, the best value of each column in bold success colour, sortable and filterable.
Mark two models (space) and press enter for the side-by-side per-example view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from tailor.tui.keymap import bind
from tailor.tui.screens.base import TailorScreen
from tailor.tui.screens.evals_launch import EvalLaunchMixin
from tailor.tui.widgets.run_data import short_name
from tailor.tui.widgets.styles import theme_style
from tailor.tui.widgets.table import Table

if TYPE_CHECKING:
    from tailor.engine.api.evals import EvalResults

RESCAN_S = 3.0


class EvalsScreen(EvalLaunchMixin, TailorScreen):
    @dataclass
    class Listed(Message):
        """The evaluations found in the workspace: (eval folder, results) newest first."""

        items: list[tuple[Path, EvalResults]]
        problems: list[str]

    SCREEN_NAME = "evals"
    DEFAULT_CSS = """
    EvalsScreen #evals-list { height: auto; max-height: 30%; min-height: 3; }
    EvalsScreen #evals-title { height: 1; padding: 0 1; background: $panel; color: $accent; text-style: bold; }
    EvalsScreen #evals-table { height: 1fr; }
    EvalsScreen #evals-filter { display: none; height: 3; border: tall $accent; }
    EvalsScreen.-filtering #evals-filter { display: block; }
    EvalsScreen #evals-status { height: auto; max-height: 2; padding: 0 1; color: $foreground-muted; }
    EvalsScreen #evals-intervals { height: auto; max-height: 3; padding: 0 1; display: none; }
    EvalsScreen #evals-empty { display: none; height: auto; padding: 1 2; color: $foreground-muted; }
    EvalsScreen.-empty #evals-empty { display: block; }
    EvalsScreen.-empty #evals-list, EvalsScreen.-empty #evals-table, EvalsScreen.-empty #evals-title { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("evals.new", "n", "new_eval", "New evaluation"),
        bind("evals.cursor_down", "j", "cursor_down", "Down", show=False),
        bind("evals.cursor_up", "k", "cursor_up", "Up", show=False),
        bind("evals.first", "g", "first", "First", show=False),
        bind("evals.last", "G", "last", "Last", show=False),
        bind("evals.sort", "s", "sort", "Sort"),
        bind("evals.reverse", "r", "reverse", "Reverse", show=False),
        bind("evals.filter", "slash", "filter", "Filter"),
        bind("evals.mark", "space", "mark", "Mark"),
        bind("evals.pair", "enter", "pair", "Side by side"),
        bind("evals.flips", "f", "flips", "Flips"),
        bind("evals.export", "e", "export", "Export CSV+MD"),
        bind("evals.back", "escape", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[Path, Any]] = []  # (eval folder, EvalResults)
        self.current: Path | None = None
        self.sort_by: str | None = None
        self.descending: bool | None = None
        self.text_filter = ""
        self.marked: list[str] = []
        self.table_model: Any = None  # engine.eval.table.Table on show
        self.scans = 0  # completed scans (tests wait on this)
        self._scan_timer: Timer | None = None
        self._mtimes: dict[Path, float] = {}
        self._reported: set[str] = set()
        self.launched: dict[str, str | None] = {}  # eval runs started here -> host (followed until they end)
        self.progress: dict[str, str] = {}  # run id -> "running 12/40" (shown in the status line)

    def compose_body(self) -> ComposeResult:
        yield Table(id="evals-list", cursor_type="row", zebra_stripes=True)
        yield Static("", id="evals-title", markup=False)
        yield Input(placeholder="filter models: words in name or kind (enter/esc)", id="evals-filter")
        # The mark and model columns stay put while left/right scroll the metrics (80 columns hold three).
        yield Table(id="evals-table", cursor_type="row", zebra_stripes=True, fixed_columns=2)
        yield Static("", id="evals-intervals", markup=False)
        yield Static("", id="evals-status", markup=False)
        yield Static(
            "No evaluations yet. Press n to launch one (after `tailor run demo-sft`), run `tailor eval "
            "demo-eval`, or add an `evaluate:` block to a training recipe.",
            id="evals-empty",
            markup=False,
        )

    @property
    def list_table(self) -> DataTable:
        return self.query_one("#evals-list", DataTable)

    @property
    def models_table(self) -> DataTable:
        return self.query_one("#evals-table", DataTable)

    @property
    def results(self) -> Any:
        return next((res for folder, res in self.items if folder == self.current), None)

    def on_mount(self) -> None:
        self.models_table.focus()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show_table())
        self.call_after_refresh(self.scan)

    # -- scanning (thread worker: directory listing + small JSON files) ----------------------------
    @work(thread=True, group="evals.scan", exclusive=True, exit_on_error=False)
    def scan(self) -> None:
        from tailor.engine.api.errors import TailorError
        from tailor.engine.api.evals import find_evaluations, load_results

        items, problems = [], []
        for folder, mtime in find_evaluations(self.tailor.workspace.runs_dir):
            try:
                known = self._mtimes.get(folder)
                cached = next((r for f, r in self.items if f == folder), None)
                res = cached if cached is not None and known == mtime else load_results(folder)
                self._mtimes[folder] = mtime
                items.append((folder, res))
            except TailorError as exc:
                problems.append(str(exc))
        self.post_message(self.Listed(items, problems))

    def on_evals_screen_listed(self, message: EvalsScreen.Listed) -> None:
        changed = [f for f, r in message.items if not any(f == f2 and r is r2 for f2, r2 in self.items)]
        listing_changed = [f for f, _ in message.items] != [f for f, _ in self.items]
        self.items = message.items
        for problem in message.problems:
            if problem not in self._reported:
                self._reported.add(problem)
                self.notify(problem, severity="warning")
        self.set_class(not self.items, "-empty")
        if listing_changed or changed:  # a running evaluation adds models: its models and best cells move
            self._fill_list()
        if self.current is None and self.items:
            self.current = self.items[0][0]
        if self.current in changed or listing_changed:
            self.show_table()
        self.scans += 1
        if self.launched:
            self.poll_launched()
        if self._scan_timer is not None:
            self._scan_timer.stop()
        self._scan_timer = self.set_timer(RESCAN_S, self.scan)

    def _fill_list(self) -> None:
        from tailor.engine.api.evals import build_table, title

        rows = []
        for folder, res in self.items:
            best = "-"
            metric = next((m for m in res.metrics if m not in ("eval_loss", "perplexity")), None)
            if metric:
                top = [r for r in build_table(res).rows if metric in r.best]
                best = f"{short_name(top[0].label)} ({title(metric)})" if top else "-"
            rows.append((str(folder), [folder.parent.name, res.task, str(res.examples), str(len(res.models)), best]))
        table = self.list_table
        table.clear(columns=True)
        # explicit widths: an auto-height table measured while empty keeps its header widths
        for i, name in enumerate(("run", "task", "examples", "models", "best")):
            table.add_column(name, width=max([len(name)] + [len(cells[i]) for _, cells in rows]))
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if self.current is not None and str(self.current) in table.rows:
            table.move_cursor(row=table.get_row_index(str(self.current)))

    @on(DataTable.RowHighlighted, "#evals-list")
    def _eval_highlighted(self, event: DataTable.RowHighlighted) -> None:
        folder = Path(str(event.row_key.value))
        if folder != self.current:
            self.current = folder
            self.marked = []
            self.sort_by, self.descending = None, None
            self.show_table()

    # -- the models x metrics table ----------------------------------------------------------------
    def show_table(self) -> None:
        from tailor.engine.api.evals import build_table, delta_is_good, fmt_delta, fmt_value, title

        res = self.results
        table = self.models_table
        if res is None:
            return
        keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        self.table_model = model = build_table(res, sort_by=self.sort_by, descending=self.descending, text_filter=self.text_filter)
        best_style = theme_style(self.app, "success", bold=True)
        good, bad, muted = (theme_style(self.app, v) for v in ("success", "error", "foreground-muted"))
        with self.app.batch_update():
            table.clear(columns=True)
            table.add_column(" ", key="_mark", width=2)
            table.add_column("model", key="_model")
            for m in model.metrics:
                arrow = "↑" if model.higher_is_better.get(m, True) else "↓"
                sort = (" ▼" if model.descending else " ▲") if m == self.sort_by else ""
                table.add_column(f"{title(m)} {arrow}{sort}", key=m)
            for r in model.rows:
                mark = str(self.marked.index(r.id) + 1) if r.id in self.marked else ""
                label = Text(short_name(r.label) + (" ·base" if r.is_baseline else ""), style=muted if r.error else "")
                if r.error:
                    label.append(f" ({r.error})", style=bad)
                cells: list[Any] = [Text(mark, style=best_style), label]
                for m in model.metrics:
                    cell = Text(fmt_value(m, r.values.get(m)), style=best_style if m in r.best else "", justify="right")
                    d = r.deltas.get(m)
                    if d is not None:
                        verdict = delta_is_good(model, m, d)
                        iv = r.intervals.get(m)
                        noise = iv is not None and not iv.significant  # the interval contains 0
                        if m in r.drops:
                            cell.append(" ▼", style=bad)
                        cell.append(f" {fmt_delta(m, d)}", style=muted if noise else (good if verdict else (bad if verdict is False else muted)))
                        if noise:
                            cell.append(" n.s.", style=muted)
                    cells.append(cell)
                table.add_row(*cells, key=r.id)
            if keep is not None and keep in table.rows:
                table.move_cursor(row=table.get_row_index(keep))
        where = res.path.parent.name if res.path else "?"
        self.query_one("#evals-title", Static).update(
            f"{where} · {res.task} · {res.examples} examples · deltas vs {model.baseline or '-'}"
            + (f" · filter: {self.text_filter}" if self.text_filter else "")
        )
        self._status()

    def intervals_line(self) -> str:
        """The highlighted row's deltas with their 95% intervals: ``EM % +86.0 (79.0 to 93.0) p<0.001 · …``."""
        from tailor.engine.api.evals import fmt_delta, fmt_interval, title

        model, selected = self.table_model, self._selected_model()
        row = next((r for r in model.rows if r.id == selected), None) if model is not None else None
        if row is None or not row.intervals:
            return ""
        parts = []
        for m, iv in row.intervals.items():
            p = "" if iv.p is None else (" p<0.001" if iv.p < 0.001 else f" p={iv.p:.2g}")
            parts.append(f"{title(m)} {fmt_delta(m, iv.delta)} {fmt_interval(m, iv)}{p}")
        return f"{row.label} vs base, 95% intervals: " + " · ".join(parts)

    @on(DataTable.RowHighlighted, "#evals-table")
    def _model_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._status()

    def _status(self, extra: str = "") -> None:
        marks = " vs ".join(self.marked) if self.marked else "none"
        hint = "space: mark two models, enter: side by side · f: flips · s: sort · /: filter · e: export · n: new"
        line = self.intervals_line()
        box = self.query_one("#evals-intervals", Static)
        box.update(line)
        box.display = bool(line)
        running = " · ".join(f"{rid}: {text}" for rid, text in self.progress.items())
        self.query_one("#evals-status", Static).update(extra or (running + " · " if running else "") + f"marked: {marks} · {hint}")

    @on(DataTable.RowSelected, "#evals-table")
    def _model_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_pair()

    @on(DataTable.RowSelected, "#evals-list")
    def _eval_chosen(self, event: DataTable.RowSelected) -> None:
        self.models_table.focus()

    @on(DataTable.HeaderSelected, "#evals-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key == "_model":
            self.sort_by = "label" if self.sort_by != "label" else None
        elif key != "_mark":
            self.sort_by, self.descending = (key, None) if self.sort_by != key else (key, not self._desc())
        self.show_table()

    def _desc(self) -> bool:
        return self.table_model.descending if self.table_model is not None else True

    # -- actions --------------------------------------------------------------------------------------
    EMPTY_HINT = "no evaluations yet: press n to launch one, or `tailor eval RUN`"

    def empty_hint(self) -> str | None:
        return self.EMPTY_HINT if self.results is None else None

    def _empty(self) -> bool:
        """True (after a hint) when there is nothing to act on: an empty screen never stays silent."""
        return self.hint_if_empty()

    def action_first(self) -> None:
        if self._empty():
            return
        focused = self.focused if isinstance(self.focused, DataTable) else self.models_table
        focused.move_cursor(row=0)

    def action_last(self) -> None:
        if self._empty():
            return
        focused = self.focused if isinstance(self.focused, DataTable) else self.models_table
        focused.move_cursor(row=max(focused.row_count - 1, 0))

    def action_cursor_down(self) -> None:
        if self._empty():
            return
        focused = self.focused if isinstance(self.focused, DataTable) else self.models_table
        focused.action_cursor_down()

    def action_cursor_up(self) -> None:
        if self._empty():
            return
        focused = self.focused if isinstance(self.focused, DataTable) else self.models_table
        focused.action_cursor_up()

    def action_sort(self) -> None:
        """Cycle the sort column: none -> each metric (best first) -> none."""
        if self._empty():
            return
        res = self.results
        if res is None:
            return
        order: list[str | None] = [None, *res.metrics]
        self.sort_by = order[(order.index(self.sort_by) + 1) % len(order)] if self.sort_by in order else res.metrics[0]
        self.descending = None
        self.show_table()

    def action_reverse(self) -> None:
        if self._empty():
            return
        if self.sort_by:
            self.descending = not self._desc()
            self.show_table()

    def action_filter(self) -> None:
        if self._empty():
            return
        self.add_class("-filtering")
        self.query_one("#evals-filter", Input).focus()

    @on(Input.Changed, "#evals-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value
        self.show_table()

    @on(Input.Submitted, "#evals-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.remove_class("-filtering")
        self.models_table.focus()

    def action_back(self) -> None:
        if self.has_class("-filtering"):
            self.remove_class("-filtering")
            self.models_table.focus()
        elif self.text_filter:
            self.query_one("#evals-filter", Input).value = ""
            self.text_filter = ""
            self.show_table()
        elif self.marked:
            self.marked = []
            self.show_table()

    def _selected_model(self) -> str | None:
        table = self.models_table
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_mark(self) -> None:
        if self._empty():
            return
        model = self._selected_model()
        if model is None:
            return
        if model in self.marked:
            self.marked.remove(model)
        else:
            self.marked = [*self.marked[-1:], model]  # at most two: the newest pair
        self.show_table()
        self.models_table.action_cursor_down()

    def _pair(self, key: str) -> list[str] | None:
        """The two models to compare: the two marked, or the marked one and the selected, or base and
        selected; None (with a hint naming ``key``) when there is no second model."""
        if self._empty():
            return None
        res = self.results
        selected = self._selected_model()
        if res is None or selected is None:
            return None
        pair = list(self.marked)
        if len(pair) == 1 and selected not in pair:
            pair.append(selected)
        if len(pair) < 2 and res.baseline and selected != res.baseline:
            pair = [res.baseline, selected]
        if len(pair) < 2:
            self.notify(f"Mark two models with space, then press {key} to compare them.", severity="warning")
            return None
        return pair

    def action_pair(self) -> None:
        """Side by side: the two marked models, or the marked one and the selected, or base and selected."""
        pair = self._pair("enter")
        if pair is not None:
            from tailor.tui.screens.eval_pair import EvalPairScreen

            self.app.push_screen(EvalPairScreen(self.results, pair[0], pair[1]))

    def action_flips(self) -> None:
        """Per-item flips (fail→pass, pass→fail) between the same two models (CLI: tailor eval RUN --flips A B)."""
        pair = self._pair("f")
        if pair is not None:
            from tailor.tui.screens.eval_flips import EvalFlipsScreen

            self.app.push_screen(EvalFlipsScreen(self.results, pair[0], pair[1]))

    def action_export(self) -> None:
        if self._empty():
            return
        if self.table_model is not None and self.results is not None:
            self.export(self.table_model, self.results.path)

    @work(thread=True, group="evals.export", exclusive=True, exit_on_error=False)
    def export(self, model: Any, folder: Path) -> None:
        from tailor.engine.api.evals import to_csv, to_markdown
        from tailor.engine.api.workspace import atomic_write_text

        csv_path, md_path = folder / "table.csv", folder / "table.md"
        atomic_write_text(csv_path, to_csv(model), mode=0o644)
        atomic_write_text(md_path, to_markdown(model), mode=0o644)
        self.app.call_from_thread(self.notify, f"exported {csv_path} and {md_path.name}", timeout=6)
