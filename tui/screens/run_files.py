"""A run's files and folders (run directory, logs, recipe, checkpoints, adapter).

Enter opens a file in the viewer inside the TUI (tui/screens/launch_preview.py: long lines scroll
sideways or wrap, ``e`` hands it to ``$PAGER``/``$EDITOR``) and copies a folder's path; ``y`` copies the
path; ``e`` opens the highlighted file in ``$PAGER``/``$EDITOR`` directly. CLI twin: ``tailor logs RUN
--stderr`` and the run folder's files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind


def run_entries(path: Path) -> list[tuple[str, Path]]:
    """(label, path) for the parts of a run directory that exist (runs on the engine thread)."""
    from tailor.engine.api.runs import RunDir

    run = RunDir(path)
    items = [("run folder", run.path), ("recipe.yaml", run.recipe_file), ("status.json", run.status_file),
             ("events.jsonl", run.events_file), ("stdout.log", run.stdout_file), ("stderr.log", run.stderr_file)]
    checkpoints = sorted(run.checkpoints_dir.glob("checkpoint-*")) if run.checkpoints_dir.is_dir() else []
    items.append((f"checkpoints/ ({len(checkpoints)})", run.checkpoints_dir))
    items += [(f"  {c.name}", c) for c in checkpoints[-3:]]
    items += [("adapter/", run.adapter_dir), ("eval/", run.eval_dir)]
    out = []
    for label, item in items:
        if item.exists():
            size = f"  {_size(item.stat().st_size)}" if item.is_file() else ""
            out.append((f"{label}{size}", item))
    return out


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class RunFilesScreen(WorkerErrorsMixin, ModalScreen[None]):
    @dataclass
    class Found(Message):
        """The run's folder (fetched from its host first) and its entries as (label, path)."""

        run_id: str
        path: Path
        entries: list[tuple[str, Path]]

    DEFAULT_CSS = """
    RunFilesScreen { align: center middle; }
    RunFilesScreen > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    RunFilesScreen #files-title { text-style: bold; color: $accent; height: auto; }
    RunFilesScreen OptionList { height: auto; max-height: 16; }
    RunFilesScreen #files-path { color: $foreground-muted; height: auto; }
    """
    BINDINGS = [
        bind("files.close", "escape,q", "close", "Close"),
        bind("files.copy", "y", "copy", "Copy path"),
        bind("files.down", "j", "down", "Down", show=False),
        bind("files.up", "k", "up", "Up", show=False),
        bind("files.first", "g", "first", "First", show=False),
        bind("files.last", "G", "last", "Last", show=False),
        bind("files.external", "e", "external", "$PAGER"),
    ]

    def __init__(self, run_id: str, host: str = "local") -> None:
        super().__init__()
        self.run_id = run_id
        self.host = host
        self.entries: list[tuple[str, Path]] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Files of {self.run_id}", id="files-title", markup=False)
            yield OptionList(id="files-list")
            yield Static("enter: view (a folder: copy its path) · y: copy path · e: $PAGER · esc: close",
                         id="files-path", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.find()

    @work(group="files.list", exclusive=True, exit_on_error=False)
    async def find(self) -> None:
        app = self.tailor
        report = await app.engine(lambda ex: ex.fetch(self.run_id), self.host)
        path = report.path
        entries = await app.bridge.call(lambda: run_entries(Path(path)))
        self.post_message(self.Found(self.run_id, Path(path), entries))

    def on_run_files_screen_found(self, message: RunFilesScreen.Found) -> None:
        self.entries = message.entries
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(f"{label}   {path}", id=str(i)) for i, (label, path) in enumerate(self.entries)])
        options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        path = self._highlighted()
        if path is None or not path.is_file():
            self.action_copy()
            return
        from tailor.tui.screens.launch_preview import TextViewerScreen

        self.app.push_screen(TextViewerScreen(f"{self.run_id} · {path.name}  ({path})", path=path))

    def _highlighted(self) -> Path | None:
        index = self.query_one(OptionList).highlighted
        return self.entries[index][1] if index is not None and index < len(self.entries) else None

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_first(self) -> None:
        self.query_one(OptionList).action_first()

    def action_last(self) -> None:
        self.query_one(OptionList).action_last()

    def action_external(self) -> None:
        path = self._highlighted()
        if path is not None and path.is_file():
            from tailor.tui.screens.launch_preview import TextViewerScreen

            TextViewerScreen.open_external(self.app, path)

    def action_copy(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is None or index >= len(self.entries):
            return
        path = str(self.entries[index][1])
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path}", timeout=4)

    def action_close(self) -> None:
        self.dismiss(None)
