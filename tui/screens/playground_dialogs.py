"""Modals of the Playground: pick a model for a side, edit the generation settings, save a probe (the eval
set and its reference completion)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tailor.tui.context import AppAccess
from tailor.tui.keymap import bind
from tailor.tui.widgets.lists import ListMoves

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 90%; max-width: 90; height: auto; max-height: 90%;
    border: thick $primary; background: $surface; padding: 0 1;
}}
{name} OptionList {{ height: auto; max-height: 14; }}
{name} .hint {{ color: $foreground-muted; }}
{name} Grid {{ grid-size: 2; grid-columns: 18 1fr; grid-rows: 3; height: auto; }}
{name} Label {{ padding: 1 0 0 0; }}
"""

NONE = "-"


class PickModel(ListMoves, AppAccess, ModalScreen[str | None]):
    """Choose what a side talks to: nothing, the base model, a run or trial. Dismisses with the target."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PickModel")
    BINDINGS = [
        bind("playground_pick.down", "j", "down", "Down", show=False),
        bind("playground_pick.up", "k", "up", "Up", show=False),
        bind("playground_pick.first", "g", "first", "First", show=False),
        bind("playground_pick.last", "G", "last", "Last", show=False),
        bind("playground_pick.cancel", "escape,q", "cancel", "Cancel"),
    ]

    def __init__(self, side: str, choices: list[tuple[str, str]], current: str | None) -> None:
        super().__init__()
        self.side = side
        self.choices = choices  # (target, label)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Model for side {self.side}")
            yield OptionList(*(Option(label, id=target) for target, label in self.choices), id="pick-model")
            yield Static("enter picks · j/k move · esc cancels", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        targets = [t for t, _ in self.choices]
        if self.current in targets:
            options.highlighted = targets.index(self.current)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def _list(self) -> OptionList:
        return self.query_one(OptionList)

    def action_cancel(self) -> None:
        self.dismiss(None)


FIELDS = (("system", "System prompt"), ("temperature", "Temperature"), ("top_p", "top_p"),
          ("max_new_tokens", "Max new tokens"), ("seed", "Seed"))


class EditSettings(AppAccess, ModalScreen[dict[str, Any] | None]):
    """The generation settings and the system prompt; enter applies (checked), esc cancels."""

    DEFAULT_CSS = DIALOG_CSS.format(name="EditSettings") + "EditSettings #settings-error { color: $error; }"
    BINDINGS = [bind("playground_settings.cancel", "escape", "cancel", "Cancel")]

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self.values = values

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Generation settings (temperature 0 = greedy)")
            with Grid():
                for key, title in FIELDS:
                    yield Label(title)
                    yield Input(str(self.values.get(key, "")), id=f"set-{key}")
            yield Static("", id="settings-error", markup=False)
            yield Static("enter applies · tab next field · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#set-system", Input).focus()

    @on(Input.Submitted)
    def _apply(self) -> None:
        from tailor.engine.api.chat import ChatSettings

        raw = {key: self.query_one(f"#set-{key}", Input).value.strip() for key, _ in FIELDS}
        try:
            settings = ChatSettings.from_json({k: v for k, v in raw.items() if k != "system"})
        except ValueError as exc:  # keep what was typed; say which field is wrong
            self.query_one("#settings-error", Static).update(f"error: {exc}")
            return
        self.dismiss({"system": raw["system"], **settings.to_json()})

    def action_cancel(self) -> None:
        self.dismiss(None)


class SaveExample(AppAccess, ModalScreen[tuple[str, str, str] | None]):
    """Name the JSONL eval set the exchange is appended to, and check its reference completion.

    A model's answer is not necessarily right: the reference starts as the chosen side's answer (up/down
    picks the side), says which side it came from, and can be corrected before it is saved. Dismisses with
    (path, the answer's label, the reference text).
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="SaveExample") + """
    SaveExample #save-error { color: $error; height: auto; }
    SaveExample OptionList { max-height: 4; }
    """
    BINDINGS = [
        bind("playground_save.side_down", "down", "side(1)", "Next side", show=False),
        bind("playground_save.side_up", "up", "side(-1)", "Previous side", show=False),
        bind("playground_save.cancel", "escape", "cancel", "Cancel"),
    ]

    def __init__(self, default: str, answers: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.default = default
        self.answers = answers  # (side, model label, answer), side A first

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Append this prompt to the eval set (.jsonl, relative: under data/)")
            yield Input(self.default, id="save-path")
            yield Label("The reference starts as this side's answer (up/down)")
            yield OptionList(*(Option(f"side {side}  {label}", id=side) for side, label, _ in self.answers),
                             id="save-side")
            yield Label("", id="save-from")
            yield Input(id="save-reference", placeholder="type the answer the model should give")
            yield Static("", id="save-error", markup=False)
            yield Static("enter saves · up/down side · tab next field · esc cancels", classes="hint")

    def on_mount(self) -> None:
        sides = self.query_one("#save-side", OptionList)
        sides.can_focus = False  # up/down pick the side from either input
        sides.highlighted = 0
        self._fill(0)
        self.query_one("#save-path", Input).focus()

    def _fill(self, index: int) -> None:
        side, label, text = self.answers[index]
        self.query_one("#save-from", Label).update(f"Reference completion: side {side}'s answer (edit to correct it)")
        self.query_one("#save-reference", Input).value = text

    def action_side(self, delta: int) -> None:
        sides = self.query_one("#save-side", OptionList)
        index = ((sides.highlighted or 0) + delta) % len(self.answers)
        sides.highlighted = index
        self._fill(index)

    @on(Input.Submitted)
    def _save(self) -> None:
        path = self.query_one("#save-path", Input).value.strip()
        text = self.query_one("#save-reference", Input).value
        if not path:
            self.query_one("#save-error", Static).update("error: type the .jsonl file to append to (e.g. probes.jsonl)")
            return
        if not text.strip():
            self.query_one("#save-error", Static).update("error: the reference is empty; type the answer the model should give")
            return
        index = self.query_one("#save-side", OptionList).highlighted or 0
        self.dismiss((path, self.answers[index][1], text))

    def action_cancel(self) -> None:
        self.dismiss(None)
