"""A run's log: a Textual ``Log`` capped at ``log_max_lines``, written in ~50 ms batches (a timer is armed
by the first queued line, none runs while no line comes)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.timer import Timer
from textual.widgets import Log

FLUSH_S = 0.05


class LogPane(Log):
    DEFAULT_CSS = """
    LogPane { height: 1fr; border: round $border; background: $surface; }
    LogPane:focus { border: round $primary; }
    """

    def __init__(self, max_lines: int = 5000, *, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, highlight=False, auto_scroll=True, id=id)
        self._pending: list[str] = []
        self._timer: Timer | None = None
        self.border_title = "Log"

    def on_mount(self) -> None:
        self._soon()  # lines queued before the pane was mounted

    def add_lines(self, lines: Iterable[str]) -> None:
        """Queue lines; they are written together at the next flush."""
        self._pending.extend(lines)
        if self.is_mounted:
            self._soon()

    def _soon(self) -> None:
        if self._pending and self._timer is None:
            self._timer = self.set_timer(FLUSH_S, self._timed_flush)

    def _timed_flush(self) -> None:
        self._timer = None
        self.flush()

    def reset(self, lines: Iterable[str]) -> None:
        """Replace the whole content (another run was selected)."""
        self._pending.clear()
        self.clear()
        self.write_lines(list(lines)[-self.max_lines :] if self.max_lines else list(lines))

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.write_lines(lines)

    @property
    def pending(self) -> int:
        return len(self._pending)
