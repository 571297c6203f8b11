"""Export or merge from the Runs screen (``e``): the TUI twin of ``tailor export`` and ``tailor merge``.

One run selected: export it (adapter, merged model, GGUF with an Ollama Modelfile) into a folder, with
an optional Hub push. Two or more marked: merge their adapters into a new run (``kind: merge``).
The work runs as the CLI in a child process (the TUI never imports torch); its last line comes back
as a notification, and what the user typed stays in the form when something is wrong. Grey placeholders
never look like values: they say what to type, or which default an empty field keeps.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select, Static

from tailor.tui.context import AppAccess
from tailor.tui.keymap import bind

TARGETS = [("adapter (as trained)", "adapter"), ("merged HF model", "merge"), ("GGUF", "gguf"),
           ("GGUF + Ollama Modelfile", "ollama")]
COMBINATIONS = ["ties", "linear", "cat", "svd", "dare_ties", "dare_linear", "magnitude_prune", "ties_svd"]


@dataclass
class Job:
    argv: list[str]  # the `tailor` CLI arguments
    label: str


class ExportScreen(AppAccess, ModalScreen[None]):
    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical { width: 76; max-width: 100%; height: auto; border: thick $accent; background: $surface; padding: 0 1; }
    ExportScreen Input, ExportScreen Select { width: 1fr; }
    ExportScreen .row { height: auto; }
    ExportScreen .label { width: 12; padding-top: 1; }
    ExportScreen #export-error { color: $error; height: auto; }
    ExportScreen Horizontal#buttons { height: auto; }
    """
    BINDINGS = [bind("export.cancel", "escape", "cancel", "Cancel")]

    def __init__(self, run_ids: list[str], workspace: str) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.workspace = workspace
        self.merging = len(run_ids) > 1

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.merging:
                yield Static(f"Merge {len(self.run_ids)} adapters: {', '.join(self.run_ids)}", markup=False)
                yield from self._row("name", Input(placeholder="type a name for the merged run", id="name"))
                yield from self._row("combine", Select([(c, c) for c in COMBINATIONS], value="ties", allow_blank=False, id="combination"))
                yield from self._row("density", Input(placeholder="empty: the default (0.5, dare 0.7)", id="density"))
                yield from self._row("weights", Input(placeholder="empty: equal (or one per run: 1,1)", id="weights"))
            else:
                yield Static(f"Export {self.run_ids[0]}", markup=False)
                yield from self._row("to folder", Input(placeholder="type a folder, e.g. ./exported", id="out"))
                yield from self._row("as", Select(TARGETS, value="adapter", allow_blank=False, id="target"))
                yield from self._row("quant", Input(value="f16", id="quant"))
                yield from self._row("hub repo", Input(placeholder="OWNER/NAME (optional)", id="repo"))
                yield Checkbox("private repository", id="private")
            yield Static("", id="export-error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Merge" if self.merging else "Export", id="go", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def _row(self, label: str, widget: Input | Select) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Static(label, classes="label")
            yield widget

    def on_mount(self) -> None:
        self.query_one("#name" if self.merging else "#out").focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.submit()

    def on_input_submitted(self) -> None:
        self.submit()

    def job(self) -> Job | None:
        """The CLI arguments for what the form says (None, with the reason shown, when incomplete)."""
        value = lambda wid: self.query_one(f"#{wid}", Input).value.strip()  # noqa: E731
        if self.merging:
            name = value("name")
            if not name:
                self._error("type a name for the merged run")
                return None
            argv = ["merge", *self.run_ids, "-o", name, "-c", str(self.query_one("#combination", Select).value)]
            argv += ["--density", value("density")] if value("density") else []
            argv += ["--weights", value("weights")] if value("weights") else []
            return Job(argv, f"merge {name}")
        out = value("out")
        if not out:
            self._error("type a folder to export into (e.g. ./exported)")
            return None
        target = self.query_one("#target", Select).value
        argv = ["export", self.run_ids[0], out]
        argv += {"merge": ["--merge"], "gguf": ["--gguf"], "ollama": ["--gguf", "--modelfile"]}.get(str(target), [])
        if target in ("gguf", "ollama"):
            argv += ["--quant", value("quant") or "f16"]
        if value("repo"):
            argv += ["--push-to-hub", value("repo")] + (["--private"] if self.query_one("#private", Checkbox).value else [])
        return Job(argv, f"export {self.run_ids[0]} -> {out}")

    def _error(self, text: str) -> None:
        self.query_one("#export-error", Static).update(text)

    def submit(self) -> None:
        job = self.job()
        if job is not None:
            self.query_one("#go", Button).disabled = True
            self.query_one("#export-error", Static).update(f"{job.label}...")
            self.run_job(job)

    @work(group="export.cli", exclusive=True, exit_on_error=False)
    async def run_job(self, job: Job) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tailor", "-w", self.workspace, *job.argv,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        lines = [ln for ln in (out.decode() + err.decode()).splitlines() if ln.strip()]
        if proc.returncode == 0:
            self.app.notify(f"{job.label}: done" + (f"\n{lines[-1]}" if lines else ""), timeout=10)
            self.dismiss(None)
        else:
            self.query_one("#go", Button).disabled = False
            self._error(lines[-1] if lines else f"{job.label} failed (exit {proc.returncode})")
