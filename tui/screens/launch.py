"""Launch a recipe: pick one of the workspace recipes, override a few fields, launch.

Returns a ``LaunchRequest`` (or None) through ``dismiss``; the Runs screen launches it in a worker.
Recipes are listed and read on the engine thread; a recipe that does not validate shows its one-line
error here and cannot be launched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.errors import WorkerErrorsMixin
from tui.keymap import bind
from tui.messages import RecipeInfo, RecipesListed

#: form field -> (recipe override path, label, type)
FIELDS: dict[str, tuple[str, str, type]] = {
    "model": ("model.name_or_path", "Model", str),
    "dataset": ("data.train", "Dataset", str),
    "r": ("lora.r", "LoRA r", int),
    "learning_rate": ("train.learning_rate", "Learning rate", float),
    "epochs": ("train.num_train_epochs", "Epochs", float),
}
TRAINABLE = ("sft", "dpo")


@dataclass
class LaunchRequest:
    recipe: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    host: str | None = None


def read_recipe(path: Path) -> RecipeInfo:
    """The form's view of a recipe (runs on the engine thread: it validates the file)."""
    from engine.errors import TailorError
    from engine.recipes.load import load_recipe

    try:
        recipe = load_recipe(path, check_files=False)
    except TailorError as exc:
        return RecipeInfo(path, error=str(exc))
    values: dict[str, str] = {}
    if recipe.kind in TRAINABLE:
        train = recipe.train
        values = {
            "model": recipe.model.name_or_path,
            "dataset": ", ".join(Path(s.path).name for s in recipe.data.train),
            "r": str(recipe.lora.r),
            "learning_rate": str(train.get("learning_rate", "default")),
            "epochs": str(train.get("num_train_epochs", "default"))
            + (f" (max_steps {train['max_steps']} takes precedence)" if train.get("max_steps") else ""),
        }
    return RecipeInfo(path, kind=recipe.kind, values=values)


def parse_overrides(raw: dict[str, str]) -> dict[str, Any]:
    """Typed overrides from the non-empty form fields; ValueError names the field."""
    overrides: dict[str, Any] = {}
    for name, text in raw.items():
        text = text.strip()
        if not text:
            continue
        key, label, kind = FIELDS[name]
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{label}: {text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if kind is not str and value <= 0:
            raise ValueError(f"{label}: must be greater than 0")
        overrides[key] = value
    return overrides


class LaunchScreen(WorkerErrorsMixin, ModalScreen[LaunchRequest | None]):
    DEFAULT_CSS = """
    LaunchScreen { align: center middle; }
    LaunchScreen > Vertical {
        width: 90%; max-width: 96; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    LaunchScreen #launch-title { text-style: bold; color: $accent; height: 1; }
    LaunchScreen OptionList { height: auto; max-height: 6; min-height: 3; }
    LaunchScreen #launch-about { height: auto; max-height: 2; color: $foreground-muted; }
    LaunchScreen Grid { grid-size: 2; grid-columns: 15 1fr; height: auto; grid-rows: 1; grid-gutter: 0 1; }
    LaunchScreen Grid Label { color: $foreground-muted; }
    LaunchScreen Grid Input { background: $boost; }
    LaunchScreen #launch-error { color: $error; height: auto; }
    LaunchScreen Horizontal { height: auto; margin-top: 1; }
    LaunchScreen Button { margin-right: 2; }
    """
    BINDINGS = [
        bind("launch.submit", "ctrl+s", "submit", "Launch"),
        bind("launch.close", "escape", "close", "Close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.recipes: list[Path] = []
        self.current: RecipeInfo | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Launch a run", id="launch-title")
            yield OptionList(id="launch-recipes", compact=True)
            yield Static("", id="launch-about", markup=False)
            with Grid():
                for name, (_key, label, _kind) in FIELDS.items():
                    yield Label(label)
                    yield Input(id=f"launch-{name}", compact=True, disabled=True)
            yield Static("", id="launch-error", markup=False)
            with Horizontal():
                yield Button("Launch (ctrl+s)", id="launch-go", variant="primary", disabled=True)
                yield Button("Close (esc)", id="launch-cancel")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.list_recipes()

    @work(group="recipes", exclusive=True, exit_on_error=False)
    async def list_recipes(self) -> None:
        workspace = self.app.workspace  # type: ignore[attr-defined]
        recipes = await self.app.bridge.call(workspace.recipes)  # type: ignore[attr-defined]
        self.post_message(RecipesListed(recipes))

    def on_recipes_listed(self, message: RecipesListed) -> None:
        self.recipes = message.recipes
        options = self.query_one(OptionList)
        options.clear_options()
        if not self.recipes:
            self.query_one("#launch-about", Static).update("No recipes in the workspace's recipes/ folder.")
            return
        options.add_options([Option(p.stem, id=str(i)) for i, p in enumerate(self.recipes)])
        preferred = next((i for i, p in enumerate(self.recipes) if p.stem == "demo-sft"), 0)
        options.highlighted = preferred

    @on(OptionList.OptionHighlighted, "#launch-recipes")
    def _recipe_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.read_selected(self.recipes[int(event.option.id or 0)])

    @on(OptionList.OptionSelected, "#launch-recipes")
    def _recipe_selected(self, event: OptionList.OptionSelected) -> None:
        first = self.query_one("#launch-model", Input)
        if not first.disabled:
            first.focus()

    @work(group="recipe", exclusive=True, exit_on_error=False)
    async def read_selected(self, path: Path) -> None:
        info = await self.app.bridge.call(lambda: read_recipe(path))  # type: ignore[attr-defined]
        self.post_message(info)

    def on_recipe_info(self, info: RecipeInfo) -> None:
        self.current = info
        trainable = info.kind in TRAINABLE
        about = f"{info.path.name} · kind {info.kind}" if info.kind else info.path.name
        if info.kind in TRAINABLE:
            about += " · type to override a field; empty keeps the recipe's value"
        if info.kind and not trainable:
            about += " · overrides apply to sft/dpo recipes; launch as is"
        self.query_one("#launch-about", Static).update(about)
        for name in FIELDS:
            box = self.query_one(f"#launch-{name}", Input)
            box.value = ""
            box.placeholder = info.values.get(name, "")
            box.disabled = not trainable
        self.query_one("#launch-error", Static).update(info.error)
        self.query_one("#launch-go", Button).disabled = bool(info.error)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch-go":
            self.action_submit()
        else:
            self.action_close()

    def action_submit(self) -> None:
        info = self.current
        if info is None:
            self.query_one("#launch-error", Static).update("Pick a recipe first.")
            return
        if info.error:
            self.notify(info.error, severity="error")
            return
        raw = {name: self.query_one(f"#launch-{name}", Input).value for name in FIELDS}
        try:
            overrides = parse_overrides(raw) if info.kind in TRAINABLE else {}
        except ValueError as exc:
            self.query_one("#launch-error", Static).update(str(exc))
            return
        self.dismiss(LaunchRequest(info.path, overrides))

    def action_close(self) -> None:
        self.dismiss(None)
