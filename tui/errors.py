"""The one place failures become visible: a notification with a one-line message, never a traceback.

``WorkerErrorsMixin`` is mixed into every Tailor screen (and any widget that starts workers): workers
are started with ``exit_on_error=False`` and a failed worker lands here.
"""

from __future__ import annotations

import traceback

from textual.app import App
from textual.worker import Worker, WorkerState

from tailor.engine.api.errors import TailorError, one_line
from tailor.tui.context import AppAccess


def error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, TailorError) else one_line(exc)


def report_error(app: App, exc: BaseException, *, title: str = "") -> None:
    """Show ``exc`` as one line: a TailorError as its message, anything else as ``Type: message``."""
    if not isinstance(exc, TailorError):  # the traceback goes to the devtools log (`textual console`), not the screen
        app.log.error("".join(traceback.format_exception(exc)))
    app.notify(error_text(exc), title=title, severity="error", timeout=8)


def report_worker(app: App, worker: Worker) -> None:
    if worker.state == WorkerState.ERROR and worker.error is not None:
        report_error(app, worker.error)


class WorkerErrorsMixin(AppAccess):
    """Reports every failed worker started by this node. Mix into Screens and Widgets."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            report_worker(self.app, event.worker)
