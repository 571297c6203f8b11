"""The Runs screen's actions on runs: mark, compare, files, launch, cancel (confirmed), resume, delete
(confirmed) and fetch with a progress bar, and going to a run (a trial's, a parent, a child).

A mixin of RunsScreen (tui/screens/runs.py). Every engine call runs in a worker on the engine thread;
results come back as ``RunActionsMixin.StatusChanged``; failures go to the one handler (tui/errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from textual import work
from textual.message import Message

if TYPE_CHECKING:
    from tailor.engine.api.executors import Executor, FetchReport
    from tailor.engine.api.runs import Status
    from tailor.tui.screens.base import TailorScreen
    from tailor.tui.widgets.run_data import RunInfo, RunStore
    from tailor.tui.widgets.run_table import RunTable

    _Screen = TailorScreen
else:  # at run time the mixin adds methods only; RunsScreen brings the screen
    _Screen = object


class RunActionsMixin(_Screen):
    """Needs ``store``, ``marked``, ``selected``, ``table``, ``tailor``, ``flush`` from RunsScreen."""

    if TYPE_CHECKING:  # what RunsScreen provides
        store: RunStore
        marked: set[str]
        _dirty: set[str]
        _select_next: str | None
        _table_dirty: bool
        text_filter: str
        state_filter: str | None

        def _filters_changed(self) -> None: ...
        def scan(self) -> Any: ...

        @property
        def table(self) -> RunTable: ...
        @property
        def selected(self) -> RunInfo | None: ...
        def flush(self) -> None: ...
        def _follow_if_active(self, info: RunInfo) -> None: ...

    @dataclass
    class StatusChanged(Message):
        """Launch, cancel or resume returned a new status for a run."""

        status: Status
        action: Literal["launched", "cancel requested", "resumed"]
        host: str | None = None  # where a new run lives (a known run keeps its host)

    def empty_hint(self) -> str | None:
        if self.table.row_count:
            return None
        if self.store.runs:
            return "no run matches the filter: esc clears it (f cycles the state filter)"
        return "no runs yet: press n to launch one, or `tailor run RECIPE`"

    def action_mark(self) -> None:
        info = self.selected
        if info is None:
            return
        self.marked.symmetric_difference_update({info.run_id})
        self._dirty.add(info.run_id)
        self.flush()
        self.table.action_cursor_down()

    def action_compare(self) -> None:
        chosen = [info for info in self.store.ordered() if info.run_id in self.marked]
        current = self.selected
        if len(chosen) == 1 and current is not None and current not in chosen:
            chosen.append(current)
        if len(chosen) < 2:
            self.notify("Mark two or more runs with space, then press c to compare them.", severity="warning")
            return
        from tailor.tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen([(info.run_id, "local") for info in chosen]))  # mirrors are local

    def action_files(self) -> None:
        info = self._need_selection()
        if info is not None:
            from tailor.tui.screens.run_files import RunFilesScreen

            self.app.push_screen(RunFilesScreen(info.run_id, "local"))  # a remote run's mirror folder

    def action_launch(self) -> None:
        from tailor.tui.screens.launch import LaunchScreen

        self.app.push_screen(LaunchScreen(), self._launch_chosen)

    def _launch_chosen(self, result: object) -> None:
        """The form launched the run itself (errors stay in the form); follow it from here."""
        from tailor.engine.api.runs import Status

        if isinstance(result, Status):
            self.post_message(self.StatusChanged(result, "launched", result.via))

    def action_cancel_run(self) -> None:
        info = self._need_selection()
        if info is None:
            return
        if not info.state.active:
            self.notify(f"{info.run_id} is already {info.word}; nothing to cancel", severity="warning")
            return
        from tailor.tui.screens.confirm import ConfirmScreen

        message = f"Cancel run {info.run_id}?\nThe worker saves a checkpoint and stops; r resumes it later."
        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_run(info.run_id, info.host)

        self.app.push_screen(ConfirmScreen(message, yes="Cancel run", no="Keep running"), answered)

    @work(group="runs.control", exit_on_error=False)
    async def cancel_run(self, run_id: str, host: str) -> None:
        status = await self.tailor.engine(lambda ex: ex.cancel(run_id, wait=0.0), host)
        self.post_message(self.StatusChanged(status, "cancel requested"))

    def action_resume_run(self) -> None:
        info = self._need_selection()
        if info is not None:
            self.resume_run(info.run_id, info.host)

    @work(group="runs.control", exit_on_error=False)
    async def resume_run(self, run_id: str, host: str, accept_changes: bool = False) -> None:
        """Resume; when the run changed since its checkpoint, list the changes and ask before accepting
        them (the TUI twin of ``tailor resume --accept-changes``)."""
        from tailor.engine.api.errors import ResumeRefused

        try:
            status = await self.tailor.engine(lambda ex: ex.resume(run_id, accept_changes=accept_changes), host)
        except ResumeRefused as exc:
            self.ask_accept_changes(run_id, host, str(exc))
            return
        self.post_message(self.StatusChanged(status, "resumed"))

    def ask_accept_changes(self, run_id: str, host: str, refusal: str) -> None:
        from tailor.tui.screens.confirm import ConfirmScreen

        listed = refusal.partition(" changed since ")[2]
        checkpoint, _, rest = listed.partition(": ")
        changes, _, _fix = rest.partition(". Fix: ")
        lines = "\n".join(f"  {c}" for c in changes.split("; "))
        message = (f"{run_id} changed since {checkpoint}:\n{lines}\n\nResume anyway? The changes are recorded "
                   "in the run's events; n leaves the run as it is.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.resume_run(run_id, host, accept_changes=True)

        self.app.push_screen(ConfirmScreen(message, yes="Resume anyway", no="Keep it"), answered)

    def on_run_actions_mixin_status_changed(self, message: RunActionsMixin.StatusChanged) -> None:
        status = message.status
        known = self.store.get(status.run_id)
        host = known.host if known is not None else message.host or "local"
        info = self.store.upsert(host, status)
        self._follow_if_active(info)
        if message.action == "launched":
            self._select_next = info.run_id
        self.notify(f"{info.run_id}: {message.action}", timeout=4)
        self._table_dirty = True
        self._dirty.add(info.run_id)
        self.flush()

    def action_delete_run(self) -> None:
        """Delete a finished run where it ran, after a confirmation (CLI: ``tailor rm RUN``)."""
        info = self._need_selection()
        if info is None:
            return
        if info.state.active:
            self.notify(f"{info.run_id} is {info.state.value}: cancel it first (x)", severity="warning")
            return
        from tailor.tui.screens.confirm import ConfirmScreen

        remote = info.host != "local"
        where = f" on {info.host}" if remote else ""
        note = "\nIts local copy (and anything fetched) stays here." if remote else "\nIts folder, adapter and checkpoints go."
        run_id, host = info.run_id, info.host

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_task(f"Deleting {run_id}{where}", lambda ex: ex.delete(run_id), host,
                               lambda path: f"deleted {path}{where}")

        self.app.push_screen(ConfirmScreen(f"Delete run {run_id}{where}?{note}", yes="Delete", no="Keep"), answered)

    def action_fetch_run(self) -> None:
        """Bring a remote run's artefacts here (CLI: ``tailor hosts fetch RUN``)."""
        info = self._need_selection()
        if info is None:
            return
        if info.host == "local":
            self.notify(f"{info.run_id} ran here: its files are local already (o)", severity="warning")
            return
        run_id = info.run_id

        def described(report: FetchReport) -> str:
            return f"{report.describe(info.host)} · {report.path}"

        self._run_task(f"Fetching {run_id} from {info.host}", lambda ex: ex.fetch(run_id), info.host, described)

    def _run_task(self, title: str, call: Callable[[Executor], Awaitable[Any]], host: str,
                  describe: Callable[[Any], str]) -> None:
        from tailor.tui.screens.run_task import RunTaskScreen

        self.app.push_screen(RunTaskScreen(title, call, host, describe), lambda _result: self.scan())

    def open_run(self, run_id: str) -> None:
        """Select ``run_id`` (from Search's enter on a trial, or a parent/child link): filters are cleared so
        it shows; a run not listed yet is selected once the next listing brings it."""
        self.text_filter, self.state_filter = "", None
        self._filters_changed()
        self._select_next = run_id
        self._table_dirty = True
        self.flush()

    def action_parent(self) -> None:
        """Go to the run this one started from (``from_run``)."""
        info = self._need_selection()
        if info is None:
            return
        parent = info.settings.from_run
        if not parent:
            self.notify(f"{info.run_id} did not start from another run", severity="warning")
            return
        match = next((rid for rid in self.store.runs if rid == parent or rid.startswith(parent)), None)
        if match is None:
            self.notify(f"parent run {parent} is not in this workspace", severity="warning")
            return
        self.open_run(match)

    def action_child(self) -> None:
        """Go to the first run that started from this one (its detail lists them all)."""
        info = self._need_selection()
        if info is None:
            return
        children = self.store.children(info.run_id)
        if not children:
            self.notify(f"no run started from {info.run_id}", severity="warning")
            return
        self.open_run(children[0])

    def _need_selection(self) -> RunInfo | None:
        info = self.selected
        if info is None:
            self.notify("No run selected: press n to launch one.", severity="warning")
        return info
