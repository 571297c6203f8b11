"""The Runs screen: a live table of runs and the selected run's curves, progress and log.

Data flow (docs/tui.md): a light re-scan of the runs folder every ``tui.rescan_s`` (listing +
status files; finished runs are read once, engine/runs/index.py) finds runs; each active run is
followed from its last seq on the engine thread, events arrive as ``RunsScreen.EventBatch`` messages; a
flush at most 100 ms after a change redraws only what changed (no flush timer runs while nothing
changes). The table holds a window of ``WINDOW`` rows of the (filtered)
runs that slides as the cursor reaches its edge, and each run's settings (its recipe) are read for the
rows in that window only: a workspace of 10,000 runs shows its table as fast as one of ten.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Static
from textual.worker import Worker

from tailor.tui.bridge import follow_batched, notifier
from tailor.tui.errors import error_text, report_error
from tailor.tui.keymap import bind
from tailor.tui.screens.base import TailorScreen
from tailor.tui.screens.runs_actions import RunActionsMixin
from tailor.tui.widgets.run_data import RunInfo, RunStore
from tailor.tui.widgets.run_settings import list_with_hosts, settings_for
from tailor.tui.widgets.run_table import RunTable

if TYPE_CHECKING:  # the detail pane (plots, log, progress) is imported and mounted after the first paint
    from pathlib import Path

    from textual.widgets import Input

    from tailor.engine.api.runs import Event, RunState, Status
    from tailor.tui.widgets.log_pane import LogPane
    from tailor.tui.widgets.run_detail import RunDetail
    from tailor.tui.widgets.run_settings import RunSettings

FLUSH_S = 0.1
FOLLOW_RETRY_S = 30.0
WINDOW = 200  # rows in the table at a time; it slides by half when the cursor reaches an edge
SETTINGS_CHUNK = 50  # recipes read per message: the first rows fill in at once


STATE_FILTERS = (None, "running", "succeeded", "failed", "cancelled", "queued")


class RunsScreen(RunActionsMixin, TailorScreen):
    @dataclass
    class Scanned(Message):
        """A fresh listing of the workspace's runs, with the host alias of each remote run.

        Remote runs are listed through their local mirrors; their host is the SSH alias, else "local".
        """

        statuses: list[Status]
        hosts: dict[str, str] = field(default_factory=dict)

    @dataclass
    class SettingsRead(Message):
        """Settings of some runs from their recipes (``asked``: every run id looked up, found or not)."""

        settings: dict[str, RunSettings]
        asked: list[str]

    @dataclass
    class EventBatch(Message):
        """A coalesced batch of new events of one run (posted at most every ~100 ms per run)."""

        run_id: str
        events: list[Event]
        complete: bool = False  # True when the batch holds the run's full history up to now
        damaged: str | None = None  # "3 damaged event lines skipped (line 17, 22, 40)" once the run is read whole

    @dataclass
    class FollowEnded(Message):
        """Following a run stopped because the run is over (its last events were already posted)."""

        run_id: str

    SCREEN_NAME = "runs"
    DEFAULT_CSS = """
    RunsScreen #runs-filter { display: none; height: 3; border: tall $accent; }
    RunsScreen.-filtering #runs-filter { display: block; }
    RunsScreen #runs-filters { display: none; height: 1; padding: 0 1; color: $accent; }
    RunsScreen.-filtered #runs-filters { display: block; }
    RunsScreen RunTable { height: auto; max-height: 40%; min-height: 4; }
    RunsScreen.-zoomed RunTable { display: none; }
    RunsScreen.-empty RunTable { height: 1; min-height: 1; }
    RunsScreen #runs-empty { display: none; height: auto; padding: 1 2; color: $foreground-muted; }
    RunsScreen.-empty #runs-empty { display: block; }
    RunsScreen.-empty.-zoomed #runs-empty { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("runs.cursor_down", "j", "cursor_down", "Down", show=False),
        bind("runs.cursor_up", "k", "cursor_up", "Up", show=False),
        bind("runs.first", "g", "first", "First run", show=False),
        bind("runs.last", "G", "last", "Last run", show=False),
        bind("runs.launch", "n", "launch", "Launch"),
        bind("runs.cancel", "x", "cancel_run", "Cancel run"),
        bind("runs.resume", "r", "resume_run", "Resume"),
        bind("runs.mark", "space", "mark", "Mark"),
        bind("runs.compare", "c", "compare", "Compare"),
        bind("runs.state_filter", "f", "state_filter", "State filter"),
        bind("runs.filter", "slash", "filter", "Filter"),
        bind("runs.files", "o", "files", "Files"),
        bind("runs.parent", "p", "parent", "Parent run", show=False),
        bind("runs.child", "P", "child", "Child run", show=False),
        bind("runs.delete", "D", "delete_run", "Delete", show=False),
        bind("runs.fetch", "F", "fetch_run", "Fetch", show=False),
        bind("runs.export", "e", "export", "Export/merge", show=False),
        bind("runs.zoom", "z", "zoom", "Zoom detail", show=False),
        bind("runs.focus_log", "l", "focus_log", "Log/table", show=False),
        bind("runs.back", "escape", "back", "Back", show=False),
    ]
    NEEDS_ITEMS = ("cursor_down", "cursor_up", "first", "last", "zoom", "focus_log", "export", "cancel_run",
                   "resume_run", "mark", "compare", "files", "parent", "child", "delete_run", "fetch_run")

    def __init__(self) -> None:
        super().__init__(classes="-empty")  # as the first frame is: toggling classes restyles the screen
        self.store = RunStore()
        self.marked: set[str] = set()
        self.state_filter: str | None = None
        self.text_filter = ""
        self.following: dict[str, Worker] = {}
        self._dirty: set[str] = set()
        self._table_dirty = True
        self._select_next: str | None = None
        self._scan_timer: Timer | None = None
        self._scan_error = ""
        self.scans = 0  # completed listings (tests wait on this)
        self.window = 0  # index, in the visible runs, of the table's first row
        self._rows: list[RunInfo] = []  # the visible runs at the last table sync
        self.settings_pending: set[str] = set()  # runs whose settings are being read (tests wait on it)
        self._detail: RunDetail | None = None
        self._follow_retry: dict[str, float] = {}  # run id -> monotonic time before which not to re-follow
        self._follow_errors: dict[str, str] = {}
        self._idle_said: set[str] = set()  # runs whose idle GPU was said (once per spell)
        self._flush_timer: Timer | None = None  # the flush armed by the first change since the last one

    def compose_body(self) -> ComposeResult:
        yield Static("", id="runs-filters", markup=False)
        yield RunTable(id="runs-table")
        yield Static("", id="runs-empty", markup=False)
        # The filter box and the detail pane (plots, log, progress) mount after the first paint.

    @property
    def table(self) -> RunTable:
        return self.query_one(RunTable)

    @property
    def detail(self) -> RunDetail | None:
        """The detail pane, once mounted (None for a moment after start-up)."""
        return self._detail

    def on_run_detail_ready(self, message: RunDetail.Ready) -> None:  # posted by the pane once mounted
        self._detail = message.detail
        if self.tailor.environment_ready:
            self._detail.log_pane.max_lines = self.tailor.settings.tui.log_max_lines
        self._show_selected()

    @property
    def log_pane(self) -> LogPane | None:
        return self._detail.log_pane if self._detail else None

    @property
    def selected(self) -> RunInfo | None:
        return self.store.get(self.table.selected_run)

    def on_mount(self) -> None:
        self.tailor.after_first_paint(self._mount_secondary)
        self.table.set_width(self.app.size.width)  # the table is focused (AUTO_FOCUS)
        self.set_interval(1.0, self.tick)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    def _mount_secondary(self) -> None:
        placeholder = "filter runs: words in id, kind, host or state (enter/esc)"
        from textual.widgets import Input

        from tailor.tui.widgets.run_detail import RunDetail

        self.mount(Input(placeholder=placeholder, id="runs-filter"), before="#runs-filters")
        self.mount(RunDetail(id="run-detail"), after="#runs-empty")

    def environment_ready(self) -> None:
        self.store.log_max_lines = self.tailor.settings.tui.log_max_lines
        self.table.configured = list(self.tailor.settings.tui.runs_columns)
        self._table_dirty |= self.table.set_width(self.app.size.width)
        if self.detail:
            self.detail.log_pane.max_lines = self.store.log_max_lines
        self.call_after_refresh(self.scan)

    def on_resize(self, event: Resize) -> None:
        if self.table.set_width(event.size.width):
            self._table_dirty = True
            self.flush()

    # -- listing ---------------------------------------------------------------
    @work(group="runs.scan", exclusive=True, exit_on_error=False)
    async def scan(self) -> None:
        """List runs (directory + status files, on the engine thread); re-armed after each pass."""
        try:
            statuses, hosts = await self.tailor.engine(list_with_hosts)
            self._scan_error = ""
            self.post_message(self.Scanned(statuses, hosts))
        except Exception as exc:  # keep scanning; report each new problem once
            if error_text(exc) != self._scan_error:
                self._scan_error = error_text(exc)
                report_error(self.app, exc)
        finally:
            if self._scan_timer is not None:
                self._scan_timer.stop()
            self._scan_timer = self.set_timer(self.tailor.settings.tui.rescan_s, self.scan)

    def on_runs_screen_scanned(self, message: RunsScreen.Scanned) -> None:
        # Only the runs that came or changed are looked at: a finished run comes back as the same object.
        merged = self.store.merge_listing(message.statuses, message.hosts)
        for rid, state in merged.changed.items():
            if rid in self.store:
                self._announce(self.store.runs[rid], state)
        for rid in (*merged.added, *merged.changed):  # a GPU gone idle while its memory is held: say so once
            info = self.store.runs[rid]
            if info.status.gpu_idle_s is None or not info.state.active:
                self._idle_said.discard(rid)
            elif rid not in self._idle_said:
                self._idle_said.add(rid)
                self.notify(f"{rid}: {info.status.state_label}", severity="warning", timeout=10)
        for run_id in merged.removed:
            self.marked.discard(run_id)
            self._idle_said.discard(run_id)
            worker = self.following.pop(run_id, None)
            if worker is not None:
                worker.cancel()
        for rid in (*merged.added, *merged.changed):  # an active run is listed anew each time
            self._follow_if_active(self.store.runs[rid])
        if merged.moved(self.store) or not self.scans:
            self._table_dirty = True
        else:  # the same runs in the same states: only their cells change
            self._dirty.update(merged.changed)
        self.scans += 1
        self.flush()

    # -- settings (method, r, lr, model) of the rows on screen ----------------------
    def _read_settings(self, infos: list[RunInfo]) -> None:
        wanted = [info.status for info in infos if not info.settings_read and info.run_id not in self.settings_pending]
        if wanted:
            self.settings_pending.update(s.run_id for s in wanted)
            # after the rows are painted: the worker's parsing holds the GIL that painting needs
            self.call_after_refresh(self.read_settings, wanted, self.tailor.workspace.runs_dir)

    @work(thread=True, group="runs.settings", exit_on_error=False)
    def read_settings(self, statuses: list[Status], runs_dir: Path) -> None:
        for at in range(0, len(statuses), SETTINGS_CHUNK):
            chunk = statuses[at: at + SETTINGS_CHUNK]
            found: dict[str, RunSettings] = {}
            try:
                found = settings_for(runs_dir, chunk)
            finally:  # even on a failure (reported by the worker handler): none stays pending for good
                self.post_message(self.SettingsRead(found, [s.run_id for s in chunk]))

    def on_runs_screen_settings_read(self, message: RunsScreen.SettingsRead) -> None:
        self.settings_pending.difference_update(message.asked)
        self.store.set_settings(message.settings)
        if self.text_filter.strip():
            self._table_dirty = True  # method and model take part in the filter
        self._dirty.update(message.settings)
        self._soon()

    def _follow_if_active(self, info: RunInfo) -> None:
        if not info.state.active or info.run_id in self.following:
            return
        if time.monotonic() < self._follow_retry.get(info.run_id, 0.0):
            return  # its host failed a moment ago: wait before trying again
        if info.last_seq == 0:
            info.history_loaded = True  # following from the first event brings the whole history
        self.following[info.run_id] = self.follow(info.run_id, info.host, info.last_seq)

    # -- following -------------------------------------------------------------
    @work(group="runs.follow", exit_on_error=False)
    async def follow(self, run_id: str, host: str, after: int) -> None:
        def emit(batch: list[dict]) -> None:  # engine thread: post_message is thread-safe
            self.post_message(self.EventBatch(run_id, batch))

        try:
            if host != "local" and after == 0:
                # A remote run's mirror already holds its history: read it here, then follow the host.
                history = await self.tailor.engine(lambda ex: ex.events(run_id))
                if history:
                    emit(history)
                    after = history[-1].get("seq", 0)
            notice = notifier(self.app)  # a dropped link is said, not a silent pause
            await self.tailor.engine(lambda ex: follow_batched(ex, run_id, after, emit, FLUSH_S, notice), host)
            self.post_message(self.EventBatch(run_id, [], damaged=await self._damaged(run_id)))  # the run ended
        except Exception as exc:  # e.g. an unreachable host: say so once, retry later
            self._follow_retry[run_id] = time.monotonic() + FOLLOW_RETRY_S
            if self._follow_errors.get(run_id) != error_text(exc):
                self._follow_errors[run_id] = error_text(exc)
                report_error(self.app, exc)
        finally:
            self.post_message(self.FollowEnded(run_id))

    @work(group="runs.history", exclusive=True, exit_on_error=False)
    async def load_history(self, run_id: str, after: int) -> None:
        # Read locally even for a remote run: its mirror holds the events, no connection needed.
        events = await self.tailor.engine(lambda ex: ex.events(run_id, after))
        self.post_message(self.EventBatch(run_id, events, complete=True, damaged=await self._damaged(run_id)))

    async def _damaged(self, run_id: str) -> str:
        """The note on the damaged lines of a finished run's events (a thread: the file may be long)."""
        from tailor.engine.api.runs import damaged_lines, damaged_note

        path = self.tailor.workspace.runs_dir / run_id / "events.jsonl"
        return damaged_note(await asyncio.to_thread(damaged_lines, path, complete=True))

    def on_runs_screen_event_batch(self, message: RunsScreen.EventBatch) -> None:
        info = self.store.get(message.run_id)
        if info is None:
            return
        if message.complete:
            info.history_loaded = True
        if message.damaged is not None:
            info.damaged = message.damaged
        state = info.state
        lines = info.apply(message.events, live=not message.complete)
        self._announce(info, state)
        if info.state != state:
            self._table_dirty = True  # a state filter may show or hide it now
        if self.detail:
            self.detail.add_log_lines(info.run_id, lines)
        self._dirty.add(info.run_id)
        self._soon()

    def _announce(self, info: RunInfo, before: RunState) -> None:
        """A run that ends while we watch says so: a crash as an error with its one-line reason."""
        state = info.state
        if state == before or not state.terminal or not before or before.terminal:
            return
        if state.value == "failed":
            self.notify(f"{info.run_id} failed: {info.status.error or 'see its log'}", severity="error", timeout=10)
        else:
            self.notify(f"{info.run_id} {info.word}", timeout=5)  # "pruned" for a trial the pruner stopped

    def on_runs_screen_follow_ended(self, message: RunsScreen.FollowEnded) -> None:
        self.following.pop(message.run_id, None)
        self._dirty.add(message.run_id)
        self._soon()
        self.scan()  # the final status (and a dead worker's) comes with the next listing

    # -- drawing -----------------------------------------------------------------
    def visible_runs(self) -> list[RunInfo]:
        return [
            info
            for info in self.store.ordered()
            if (self.state_filter is None or info.state.value == self.state_filter) and info.matches(self.text_filter)
        ]

    def _soon(self) -> None:
        """Something changed: flush within ``FLUSH_S``, together with whatever else changes meanwhile (a
        burst of event batches is one redraw; Toolong's coalescing)."""
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_S, self._timed_flush)

    def _timed_flush(self) -> None:
        self._flush_timer = None
        self.flush()

    def flush(self) -> None:
        """Apply everything that changed since the last flush in one batch update."""
        if not (self._table_dirty or self._dirty):
            return
        now = time.time()
        with self.app.batch_update():
            if self._table_dirty:
                rows = self._rows = self.visible_runs()
                shown = rows[self._place_window(rows): self.window + WINDOW]
                self.table.sync(shown, self.marked, now)
                self._read_settings(shown)
                if self.has_class("-empty") != (not rows):
                    self.set_class(not rows, "-empty")
                if not rows:
                    self.query_one("#runs-empty", Static).update(
                        "No runs match the filter (esc clears it)." if self.store.runs else
                        "No runs yet: press n to launch a recipe (demo-sft trains the built-in tiny model)."
                    )
            else:
                self.table.refresh_rows((self.store.runs[r] for r in self._dirty if r in self.store.runs),
                                        self.marked, now)
            if self._select_next and self._select_next in self.table._shown:
                self.table.select(self._select_next)
                self._select_next = None
            selected = self.table.selected_run
            if self.detail is None:
                pass
            elif selected != self.detail.run_id:
                self._show_selected()
            elif selected in self._dirty:
                self.detail.refresh_run(self.store.get(selected), now)
        self._table_dirty = False
        self._dirty.clear()

    def _place_window(self, rows: list[RunInfo]) -> int:
        """The window's first row: where it was, moved to show the run to select (or the selected one)."""
        target = self._select_next or self.table.selected_run
        if target and not any(info.run_id == target for info in rows[self.window: self.window + WINDOW]):
            at = next((i for i, info in enumerate(rows) if info.run_id == target), None)
            if at is not None:
                self.window = at - WINDOW // 2
        self.window = max(0, min(self.window, len(rows) - WINDOW))
        return self.window

    def _slide(self, row: int) -> None:
        """The cursor reached the window's edge: show the next (or previous) half window of runs."""
        if row >= self.table.row_count - 1 and self.window + WINDOW < len(self._rows):
            self.window += WINDOW // 2
        elif row <= 0 and self.window > 0:
            self.window = max(0, self.window - WINDOW // 2)
        else:
            return
        self._table_dirty = True
        self.flush()

    def tick(self) -> None:
        """Elapsed and ETA move on their own: the detail pane counts them down once a second. Table rows
        show them as of their run's latest change (a cell update makes the table render every visible
        cell again: each second, that cost a workspace of many runs 20% of a core)."""
        info = self.selected
        if self.detail is not None and info is not None and info.state.active:
            self.detail.tick(info, time.time())

    def _restyle(self) -> None:
        self.table.restyle()
        if self.detail and self.detail.run_id:
            self._dirty.add(self.detail.run_id)
            self._soon()

    def _show_selected(self) -> None:
        info = self.selected
        if self.detail is None:
            return
        self.detail.show_run(info, time.time())
        if info is not None and not info.history_loaded and info.run_id not in self.following:
            self.load_history(info.run_id, info.last_seq)

    @on(DataTable.RowHighlighted, "#runs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.detail and event.row_key.value != self.detail.run_id:
            self._show_selected()
        if event.cursor_row == self.table.cursor_row:  # not a stale one from before a rebuild
            self._slide(event.cursor_row)

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_zoom()

    # -- navigation --------------------------------------------------------------
    def action_cursor_down(self) -> None:
        if self.log_pane and self.log_pane.has_focus:
            self.log_pane.scroll_down()
        else:
            self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.log_pane and self.log_pane.has_focus:
            self.log_pane.scroll_up()
        else:
            self.table.action_cursor_up()

    def action_first(self) -> None:
        if self._rows:
            self._select_next = self._rows[0].run_id
            self._table_dirty = True
            self.flush()

    def action_last(self) -> None:
        if self._rows:
            self._select_next = self._rows[-1].run_id
            self._table_dirty = True
            self.flush()

    def action_zoom(self) -> None:
        self.toggle_class("-zoomed")
        if self.has_class("-zoomed") and self.log_pane:
            self.log_pane.focus()
        else:
            self.table.focus()

    def action_focus_log(self) -> None:
        if self.log_pane is None or (self.log_pane.has_focus and not self.has_class("-zoomed")):
            self.table.focus()
        else:
            self.log_pane.focus()

    def action_back(self) -> None:
        if self.has_class("-filtering"):
            self._close_filter()
        elif self.has_class("-zoomed"):
            self.action_zoom()
        elif self.text_filter or self.state_filter:
            self.text_filter, self.state_filter = "", None
            for box in self.query("#runs-filter"):
                cast("Input", box).value = ""
            self._filters_changed()
        elif not self.table.has_focus:
            self.table.focus()

    # -- filters -----------------------------------------------------------------
    def action_export(self) -> None:
        """Export the selected run, or merge the marked ones (tui/screens/export.py)."""
        from tailor.tui.screens.export import ExportScreen

        chosen = [i.run_id for i in self.store.ordered() if i.run_id in self.marked] or ([self.selected.run_id] if self.selected else [])
        if chosen:
            self.app.push_screen(ExportScreen(chosen, str(self.tailor.workspace.root)))

    def action_filter(self) -> None:
        for box in self.query("#runs-filter"):
            self.add_class("-filtering")
            box.focus()

    def action_state_filter(self) -> None:
        index = STATE_FILTERS.index(self.state_filter)
        self.state_filter = STATE_FILTERS[(index + 1) % len(STATE_FILTERS)]
        self._filters_changed()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "runs-filter":
            return
        self.text_filter = event.value
        self._filters_changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "runs-filter":
            return
        self._close_filter()

    def _close_filter(self) -> None:
        self.remove_class("-filtering")
        self.table.focus()

    def _filters_changed(self) -> None:
        parts = []
        if self.state_filter:
            parts.append(f"state: {self.state_filter}")
        if self.text_filter.strip():
            parts.append(f"text: {self.text_filter.strip()}")
        self.query_one("#runs-filters", Static).update(
            "filter · " + " · ".join(parts) + "   (f: next state, esc: clear)" if parts else ""
        )
        self.set_class(bool(parts), "-filtered")
        self._table_dirty = True
        self.flush()
