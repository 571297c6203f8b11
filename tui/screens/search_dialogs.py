"""Modals of the Search screen: pick a search recipe to start, hand-pick a trial's parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tailor.tui.context import AppAccess
from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 80%; max-width: 90; height: auto; max-height: 80%;
    border: thick $primary; background: $surface; padding: 1 2; overflow-y: auto;
}}
{name} > Vertical > Label {{ width: 100%; }}  /* the title wraps at 80 columns instead of being cut */
{name} .hint {{ color: $foreground-muted; margin-top: 1; }}
"""


def search_recipes(recipes_dir: Path) -> list[tuple[Path, str]]:
    """(path, name) of the workspace's kind: search recipes (a quick look at `kind`, no validation)."""
    from tailor.engine.api.recipes import load_yaml

    out = []
    for path in sorted(Path(recipes_dir).glob("*.y*ml")):
        try:
            data = load_yaml(path.read_text(encoding="utf-8-sig"))
        except Exception:  # unreadable files are simply not offered
            continue
        if isinstance(data, dict) and data.get("kind") == "search":
            out.append((path, str(data.get("name") or path.stem)))
    return out


class PickSearchRecipe(WorkerErrorsMixin, ModalScreen[Path | None]):
    """Choose one of the workspace's search recipes; dismisses with its path (or None)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PickSearchRecipe")
    BINDINGS = [bind("search_pick.cancel", "escape", "cancel", "Cancel")]

    def __init__(self, recipes_dir: Path) -> None:
        super().__init__()
        self.recipes_dir = recipes_dir

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Start a search: pick a recipe (kind: search)")
            yield OptionList(id="search-pick")
            yield Static("enter starts it · esc cancels · recipes live in the workspace's recipes/", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(thread=True, group="search_pick.recipes", exit_on_error=False)
    def load(self) -> None:
        found = search_recipes(self.recipes_dir)
        self.app.call_from_thread(self._show, found)

    def _show(self, found: list[tuple[Path, str]]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        if not found:
            options.add_option(Option(f"no search recipes in {self.recipes_dir}", disabled=True))
        for path, name in found:
            options.add_option(Option(f"{name}  ({path.name})", id=str(path)))
        options.highlighted = 0 if found else None

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(Path(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class EnqueueTrial(AppAccess, ModalScreen[dict[str, str] | None]):
    """One input per searched parameter (prefilled from the best trial); empty ones are sampled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="EnqueueTrial") + """
    EnqueueTrial Grid { grid-size: 2; grid-columns: auto 1fr; grid-rows: 3; height: auto; }
    EnqueueTrial Grid Label { padding: 1 1 0 0; }
    """
    BINDINGS = [bind("search_enqueue.cancel", "escape", "cancel", "Cancel")]

    def __init__(self, study: str, space: dict[str, Any], best: dict[str, Any] | None) -> None:
        super().__init__()
        self.study = study
        self.space = {k: v for k, v in space.items() if isinstance(v, dict) and ("choices" in v or "low" in v)}
        self.best = best or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Queue a trial in {self.study}: it runs next (enter queues, esc cancels)")
            with Grid():
                for i, (name, spec) in enumerate(self.space.items()):
                    yield Label(name)
                    value = self.best.get(name)
                    yield Input(value="" if value is None else str(value), placeholder=_hint(spec), id=f"param-{i}")
            yield Static("Leave a field empty to let the sampler choose it.", classes="hint")

    def on_mount(self) -> None:
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()

    @on(Input.Submitted)
    def _submit(self) -> None:
        values = {}
        for i, name in enumerate(self.space):
            text = self.query_one(f"#param-{i}", Input).value.strip()
            if text:
                values[name] = text
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _hint(spec: dict[str, Any]) -> str:
    if "choices" in spec:
        return "one of " + ", ".join(str(c) for c in spec["choices"])
    scale = " (log)" if spec.get("log") else ""
    return f"{spec.get('low')} .. {spec.get('high')}{scale}"
