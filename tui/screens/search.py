"""The Search screen: an Optuna study, live: trials table, best-so-far, per-trial curves, importances,
and an r x learning-rate heatmap of the objective. Start, stop, enqueue, promote (docs/search.md).

Data flow: one thread worker polls the study storage (every ``tui.rescan_s``, or at once after an
action) through ``tailor.engine.search.watch.StudyWatcher`` and posts a ``SearchScreen.Polled`` snapshot; the screen
redraws from it. Actions run on the engine thread (start, stop, promote) or a thread worker (enqueue).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.table import Table as RichTable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from tailor.tui.errors import error_text
from tailor.tui.keymap import bind
from tailor.tui.screens.base import TailorScreen
from tailor.tui.widgets.curves import Curves
from tailor.tui.widgets.search_columns import fit_columns, short
from tailor.tui.widgets.styles import theme_style
from tailor.tui.widgets.table import Table

STATE_VARIABLE = {"complete": "success", "pruned": "warning", "failed": "error", "oom": "error", "running": "accent",
                  "waiting": "foreground-muted"}
FIXED_SORTS = ("number", "value", "state", "steps", "duration")


class SearchScreen(TailorScreen):
    @dataclass
    class Polled(Message):
        """The studies (name, storage url) and the selected study's snapshot (``StudyWatcher.snapshot``)."""

        studies: list[tuple[str, str]]
        selected: tuple[str, str] | None
        snapshot: dict[str, Any] | None
        error: str = ""

    SCREEN_NAME = "search"
    DEFAULT_CSS = """
    SearchScreen #search-header { height: 1; padding: 0 1; }
    SearchScreen #search-empty { display: none; height: auto; padding: 1 2; color: $foreground-muted; }
    SearchScreen.-empty #search-empty { display: block; }
    SearchScreen.-empty #search-body { display: none; }
    SearchScreen .search-row { height: 1fr; }
    SearchScreen #search-trials { width: 3fr; height: 1fr; border: round $border; }
    SearchScreen #search-best { width: 2fr; }
    SearchScreen #search-curves { width: 3fr; }
    SearchScreen #search-side { width: 2fr; }
    SearchScreen #search-importance { height: auto; max-height: 50%; border: round $border; padding: 0 1; }
    SearchScreen #search-heatmap { height: 1fr; border: round $border; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("search.start", "s", "start", "Start/continue"),
        bind("search.new", "n", "new", "New search"),
        bind("search.stop", "x", "stop", "Stop"),
        bind("search.enqueue", "e", "enqueue", "Enqueue trial"),
        bind("search.promote", "p", "promote", "Promote best"),
        bind("search.sort", "o", "sort", "Sort"),
        bind("search.reverse", "O", "reverse", "Reverse sort", show=False),
        bind("search.next_study", "right_square_bracket", "study(1)", "Next study", show=False),
        bind("search.prev_study", "left_square_bracket", "study(-1)", "Previous study", show=False),
        bind("search.cursor_down", "j", "cursor_down", "Down", show=False),
        bind("search.cursor_up", "k", "cursor_up", "Up", show=False),
    ]
    NEEDS_ITEMS = ("stop", "enqueue", "promote", "sort", "reverse", "study", "cursor_down", "cursor_up")

    def empty_hint(self) -> str | None:
        return None if self.studies else "no searches yet: press n to start one, or `tailor search RECIPE`"

    def __init__(self) -> None:
        super().__init__()
        self.studies: list[tuple[str, str]] = []
        self.selected: tuple[str, str] | None = None
        self.snap: dict[str, Any] | None = None
        self.sort_key = "number"
        self.sort_reverse = False
        self.polls = 0  # completed polls (tests wait on this)
        self._wake = threading.Event()
        self._columns: tuple[str, ...] = ()
        self._error = ""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="search-header", markup=False)
        yield Static(
            "No studies yet. Press n to start a search from a recipe (try demo-search), "
            "or run `tailor search demo-search` in a terminal.",
            id="search-empty",
            markup=False,
        )
        with Vertical(id="search-body"):
            with Horizontal(classes="search-row"):
                yield Table(id="search-trials", cursor_type="row", zebra_stripes=True)
                yield Curves("best so far", id="search-best")
            with Horizontal(classes="search-row"):
                yield Curves("intermediate values", id="search-curves")
                with Vertical(id="search-side"):
                    yield Static("", id="search-importance")
                    yield Static("", id="search-heatmap")

    @property
    def table(self) -> DataTable:
        return self.query_one("#search-trials", DataTable)

    def on_mount(self) -> None:
        self.query_one("#search-importance").border_title = "importance"
        self.query_one("#search-heatmap").border_title = "heatmap"
        self.table.border_title = "trials"
        self.table.focus()

    def environment_ready(self) -> None:
        self.poll()  # needs the workspace and settings (loaded after the first paint)

    def on_unmount(self) -> None:
        self._wake.set()

    # -- polling ---------------------------------------------------------------
    @work(thread=True, exclusive=True, group="search.poll", exit_on_error=False)
    def poll(self) -> None:
        """Read the studies and the selected study's snapshot, again and again (a thread: Optuna blocks)."""
        from tailor.engine.api.search import StudyWatcher

        worker = get_current_worker()
        watcher = StudyWatcher(self.tailor.workspace)
        interval = self.tailor.settings.tui.rescan_s
        while not worker.is_cancelled:
            self._wake.clear()
            try:
                runs = watcher.search_runs()
                studies = watcher.studies(runs)
                selected = self.selected if self.selected in studies else (studies[-1] if studies else None)
                snap = watcher.snapshot(*selected, runs) if selected else None
                message = self.Polled(studies, selected, snap)
            except Exception as exc:  # keep polling; show each new problem once
                message = self.Polled(self.studies, self.selected, self.snap, error=error_text(exc))
            if worker.is_cancelled:
                return
            self.post_message(message)
            self._wake.wait(interval)

    def refresh_now(self) -> None:
        self._wake.set()

    def on_search_screen_polled(self, message: SearchScreen.Polled) -> None:
        if message.error and message.error != self._error:
            self.notify(message.error, severity="error", title="search")
        self._error = message.error
        self.studies, self.selected, self.snap = message.studies, message.selected, message.snapshot
        self.set_class(not self.studies, "-empty")
        with self.app.batch_update():
            self._draw()
        self.polls += 1

    # -- drawing ---------------------------------------------------------------
    def _draw(self) -> None:
        snap = self.snap
        header = self.query_one("#search-header", Static)
        if snap is None:
            header.update("")
            return
        c = snap["counts"]
        best = snap["best"]
        position = f"[{self.studies.index(self.selected) + 1}/{len(self.studies)}] " if self.selected in self.studies else ""
        parts = [f"{position}study {snap['study']}"]
        if best:
            parts.append(f"best #{best['number']} {_short(best['value'])}")
        if snap.get("second_objective"):
            parts.append(f"pareto ◆ {', '.join(f'#{n}' for n in snap['pareto']) or 'none yet'}")
        counts = [f"{c[k]} {word}" for k, word in (("complete", "complete"), ("pruned", "pruned"), ("failed", "failed"),
                                                    ("running", "running"), ("waiting", "queued")) if c[k]]
        parts += [
            ", ".join(counts) or "no trials yet",
            f"{snap['direction']} {snap['objective']}" + (f", minimize {snap['second_objective']}"
                                                          if snap.get("second_objective") else ""),
            f"{len(snap['workers'])} workers",
            str(snap.get("storage_short") or snap["storage"]),
        ]
        # by priority: whole parts while they fit the width (study, best, counts first; storage last)
        width = (header.size.width or self.app.size.width) - 2
        shown = parts[0]
        for part in parts[1:]:
            if len(shown) + 3 + len(part) > width:
                break
            shown += " · " + part
        header.update(shown)
        self._draw_table(snap)
        self._draw_charts(snap)

    def _draw_table(self, snap: dict[str, Any]) -> None:
        from tailor.engine.api.runs import duration, number
        from tailor.engine.api.search import sort_rows

        rows = snap["rows"]
        names: list[str] = []
        for row in rows:
            for key in (*row["params"], *row["derived"]):
                if key not in names:
                    names.append(key)
        self._sort_names = list(names)
        room = (self.table.size.width or (self.app.size.width * 3) // 5) - 2
        visible = fit_columns(rows, names, snap["objective"], room)
        columns = ("#", "state", *[n for n in names if n in visible], snap["objective"],
                   *[c for c in ("steps", "duration") if c in visible])
        labels = ("#", "state", *[short(n) for n in names if n in visible], snap["objective"],
                  *[{"steps": "steps", "duration": "time"}[c] for c in ("steps", "duration") if c in visible])
        table = self.table
        keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        if columns != self._columns:
            table.clear(columns=True)
            table.add_columns(*labels)
            self._columns = columns
        else:
            table.clear()
        key = self.sort_key if self.sort_key in (*FIXED_SORTS, *names) else "number"
        ordered = sort_rows(rows, key, snap["direction"])
        if self.sort_reverse:
            ordered.reverse()
        best = snap["best"]["number"] if snap["best"] else None
        for row in ordered:
            values = {**row["params"], **row["derived"]}
            state = Text(row["state"], style=theme_style(self.app, STATE_VARIABLE.get(row["state"], "foreground")))
            shown = row["value"] if row["value"] is not None else row.get("last")
            objective = number(shown) if shown is not None else "-"
            if row["value"] is None and shown is not None:
                objective += "*"
            marks = (" ★" if row["number"] == best else "") + (" ◆" if row["number"] in snap.get("pareto", []) else "")
            number_cell = Text(f"{row['number']}{marks}")
            if row.get("second") is not None:  # a multi-objective study: both values in the objective column
                objective += f" / {number(row['second'])}"
            cells = [number(values[n]) if isinstance(values.get(n), float) else str(values.get(n, "-"))
                     for n in names if n in visible]
            tail = {"steps": str(row["steps"] or "-"), "duration": duration(row["duration"])}
            table.add_row(
                number_cell, state, *cells, objective, *[tail[c] for c in ("steps", "duration") if c in visible],
                key=str(row["number"]),
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        table.border_title = f"trials · sorted by {key}{' (reversed)' if self.sort_reverse else ''}"

    @on(DataTable.RowSelected, "#search-trials")
    def _trial_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a trial opens its run in the Runs screen (CLI twin: ``tailor logs RUN``)."""
        rows = (self.snap or {}).get("rows", [])
        row = next((r for r in rows if str(r["number"]) == event.row_key.value), None)
        if row is not None and not row.get("run_id") and row.get("reason"):  # pruned before it started
            self.notify(f"trial {row['number']} was not launched: {row['reason']}", severity="warning")
            return
        if row is None or not row.get("run_id"):
            self.notify(f"trial {event.row_key.value} has no run yet", severity="warning")
            return
        if not (self.tailor.workspace.runs_dir / row["run_id"] / "status.json").is_file():
            # never a silent jump to whatever run the Runs screen had selected
            self.notify(f"trial {row['number']}'s run {row['run_id']} was deleted; the study keeps its parameters "
                        "and value", severity="warning")
            return
        self.tailor.action_goto("runs")
        open_run = getattr(self.app.screen, "open_run", None)
        if open_run is not None:
            open_run(row["run_id"])

    def _draw_charts(self, snap: dict[str, Any]) -> None:
        from tailor.engine.api.runs import number
        from tailor.engine.api.search import importance_bars, intermediate_series

        history = [(float(n), v) for n, v in snap["history"]]
        complete = [(float(r["number"]), r["value"]) for r in snap["rows"] if r["state"] == "complete" and r["value"] is not None]
        self.query_one("#search-best", Curves).show([("best", history), ("trials", sorted(complete))])
        series = intermediate_series(snap)
        variables = [
            "accent" if label.endswith("★") else STATE_VARIABLE.get(state, "primary") if state != "complete" else "primary"
            for label, _, state in series
        ]
        self.query_one("#search-curves", Curves).show([(label, pts) for label, pts, _ in series], variables=variables or None)
        bars = importance_bars(snap.get("importances") or {}, width=16)
        importance = self.query_one("#search-importance", Static)
        if bars:
            text = Text()
            for name, value, bar in bars:
                text.append(f"{name[:16]:<16} ", style="bold")
                text.append(bar, style=theme_style(self.app, "primary"))
                text.append(f" {value:.2f}\n" if isinstance(value, float) else f" {number(value)}\n")
            importance.update(text)
        else:
            importance.update(Text("needs 3 complete trials", style=theme_style(self.app, "foreground-muted")))
        self.query_one("#search-heatmap", Static).update(self._heatmap(snap))

    def _heatmap(self, snap: dict[str, Any]) -> Any:
        from tailor.engine.api.runs import number
        from tailor.engine.api.search import heatmap, quality

        widget = self.query_one("#search-heatmap", Static)
        bins = max(3, min(6, (widget.size.width - 10) // 8)) if widget.size.width else 6
        grid = heatmap(snap, bins=bins)
        if grid is None:
            widget.border_title = "heatmap"
            return Text("needs two searched parameters", style=theme_style(self.app, "foreground-muted"))
        widget.border_title = f"{snap['objective']}: {grid['y']} x {grid['x']} (best per cell)"
        table = RichTable(box=None, padding=(0, 1), show_header=True, header_style="bold")
        table.add_column(f"{short(grid['y'])}\\{short(grid['x'])}", justify="right")
        for label in grid["x_labels"]:
            table.add_column(label, justify="right")
        for label, line in zip(grid["y_labels"], grid["cells"], strict=True):
            cells: list[Any] = []
            for v in line:
                if v is None:
                    cells.append(Text("·", style=theme_style(self.app, "foreground-muted")))
                    continue
                q = quality(v, grid["best"], grid["worst"])
                variable = "success" if q >= 0.67 else "warning" if q >= 0.33 else "error"
                cells.append(Text(number(v), style=theme_style(self.app, variable, bold=v == grid["best"])))
            table.add_row(label, *cells)
        return table

    # -- actions ---------------------------------------------------------------
    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_sort(self) -> None:
        keys = [*FIXED_SORTS, *getattr(self, "_sort_names", [])]
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)] if self.sort_key in keys else "number"
        self._redraw()

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._redraw()

    def action_study(self, step: int) -> None:
        if not self.studies:
            return
        index = self.studies.index(self.selected) if self.selected in self.studies else 0
        self.selected = self.studies[(index + step) % len(self.studies)]
        self.refresh_now()

    def _redraw(self) -> None:
        if self.snap is not None:
            with self.app.batch_update():
                self._draw_table(self.snap)

    def action_new(self) -> None:
        from tailor.tui.screens.search_dialogs import PickSearchRecipe

        def picked(path: Path | None) -> None:
            if path is not None:
                self.start(path)

        self.app.push_screen(PickSearchRecipe(self.tailor.workspace.recipes_dir), picked)

    def action_start(self) -> None:
        recipe = (self.snap or {}).get("recipe")
        if recipe and Path(recipe).exists():
            self.start(Path(recipe))
        else:
            self.action_new()

    @work(group="search.action", exit_on_error=False)
    async def start(self, path: Path) -> None:
        from tailor.engine.api.search import start_search

        ws = self.tailor.workspace
        status = await self.tailor.engine(lambda ex: start_search(ex, ws, path))
        self.notify(f"search started: {status.run_id} (study {status.links.get('study')})", title="search")
        study, storage = status.links.get("study"), status.links.get("storage")
        if study and storage:
            self.selected = (study, storage)  # show the study just started
        self.refresh_now()

    def action_stop(self) -> None:
        if self.snap is None:
            return
        from tailor.tui.screens.confirm import ConfirmScreen

        study = self.snap["study"]
        if not self.snap["workers"]:
            self.notify(f"no worker is running study {study}", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.stop(study)

        message = f"Stop study {study}? Its {len(self.snap['workers'])} worker(s) stop; the interrupted trial runs again first on the next start."
        self.app.push_screen(ConfirmScreen(message, yes="Stop"), confirmed)

    @work(group="search.action", exit_on_error=False)
    async def stop(self, study: str) -> None:
        from tailor.engine.api.search import stop_search

        stopped = await self.tailor.engine(lambda ex: stop_search(ex, study))
        self.notify(f"stopping {len(stopped)} worker(s) of {study}", title="search")
        self.refresh_now()

    def action_enqueue(self) -> None:
        if self.snap is None:
            return
        from tailor.tui.screens.search_dialogs import EnqueueTrial

        snap = self.snap
        best = {**snap["best"]["params"], **snap["best"]["derived"]} if snap["best"] else None

        def chosen(values: dict[str, str] | None) -> None:
            if values:
                self.enqueue(snap["study"], snap["url"], values)

        self.app.push_screen(EnqueueTrial(snap["study"], snap["space"], best), chosen)

    @work(thread=True, group="search.action", exit_on_error=False)
    def enqueue(self, study: str, url: str, values: dict[str, str]) -> None:
        from tailor.engine.api.search import enqueue

        checked = enqueue(study, url, values)
        shown = ", ".join(f"{k}={v}" for k, v in checked.items())
        self.app.call_from_thread(self.notify, f"queued a trial in {study}: {shown}", title="search")
        self.refresh_now()

    def action_promote(self) -> None:
        snap = self.snap
        if snap is None or snap["best"] is None:
            self.notify("no complete trial to promote yet", severity="warning")
            return
        from tailor.tui.screens.confirm import ConfirmScreen

        best = snap["best"]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.promote(snap["study"], snap["url"], best["number"])

        message = (
            f"Promote trial {best['number']} of {snap['study']} ({snap['objective']} {_short(best['value'])}) to a full "
            "training run with its parameters?"
        )
        self.app.push_screen(ConfirmScreen(message, yes="Promote"), confirmed)

    @work(group="search.action", exit_on_error=False)
    async def promote(self, study: str, url: str, number: int) -> None:
        from tailor.engine.api.search import promote

        ws = self.tailor.workspace
        path, status = await self.tailor.engine(lambda ex: promote(ex, ws, study, url, trial_number=number))
        assert status is not None  # promote launches by default
        self.notify(f"training {status.run_id} from {path.name} (see Runs)", title="search")


def _short(value: Any) -> str:
    """An objective value in 4 digits (``inf``, ``nan`` as they are; what is not a float as text)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    from tailor.engine.api.runs import number

    return number(value)
