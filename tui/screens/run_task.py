"""A modal that runs one long engine call on a run (fetch its artefacts, delete it) with a progress bar,
then says what happened. The executor contract reports a fetch or a delete when it is done, so the bar
is indeterminate while the call runs and full once it returns; an error stays on screen (esc closes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from tailor.tui.context import AppAccess
from tailor.tui.keymap import bind

if TYPE_CHECKING:
    from tailor.engine.api.executors import Executor


class RunTaskScreen(AppAccess, ModalScreen[object]):
    @dataclass
    class Finished(Message):
        result: Any = None
        error: str = ""

    DEFAULT_CSS = """
    RunTaskScreen { align: center middle; }
    RunTaskScreen > Vertical {
        width: 80%; max-width: 90; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    RunTaskScreen #task-title { text-style: bold; color: $accent; height: auto; }
    RunTaskScreen ProgressBar { margin: 1 0; }
    RunTaskScreen #task-result { height: auto; }
    RunTaskScreen #task-result.-error { color: $error; }
    """
    BINDINGS = [bind("task.close", "escape,q,enter", "close", "Close")]

    def __init__(
        self, title: str, call: Callable[[Executor], Awaitable[Any]], host: str,
        describe: Callable[[Any], str] = str,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.call = call
        self.host = host
        self.describe = describe
        self.done = False
        self.result: Any = None
        self.error = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="task-title", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="task-progress")
            yield Static("working… (esc hides this; the task goes on)", id="task-result", markup=False)

    def on_mount(self) -> None:
        self.run_task()

    @work(group="task.run", exclusive=True, exit_on_error=False)
    async def run_task(self) -> None:
        from tailor.engine.api.errors import one_line

        try:
            result = await self.tailor.engine(self.call, self.host)
        except Exception as exc:  # shown in the modal: the one-line reason
            self.post_message(self.Finished(error=one_line(exc)))
            return
        self.post_message(self.Finished(result))

    def on_run_task_screen_finished(self, message: RunTaskScreen.Finished) -> None:
        self.done, self.result, self.error = True, message.result, message.error
        bar = self.query_one(ProgressBar)
        bar.update(total=1, progress=0 if message.error else 1)
        line = self.query_one("#task-result", Static)
        line.set_class(bool(message.error), "-error")
        line.update(f"failed: {message.error}" if message.error else f"{self.describe(message.result)} · enter closes")

    def action_close(self) -> None:
        self.dismiss(self.result if self.done and not self.error else None)
