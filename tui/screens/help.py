"""``?``: every binding of the current screen (keys after the user's keymap, description, id)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from tailor.tui.context import AppAccess
from tailor.tui.keymap import bind
from tailor.tui.widgets.table import Table


@dataclass(frozen=True)
class HelpRow:
    keys: str
    description: str
    binding_id: str


def bindings_of(screen: Screen) -> list[HelpRow]:
    """The active bindings of ``screen`` (focused widget, screen and app), one row per binding."""
    app = screen.app
    grouped: dict[tuple[str, str], list[str]] = {}
    for _key, active in screen.active_bindings.items():
        binding = active.binding
        description = binding.description or binding.action
        if binding.action in ("app.command_palette", "command_palette"):
            name, description = "app.command_palette", "Command palette: every action"
        else:
            name = binding.id or f"(built in) {binding.action.removeprefix('app.').removeprefix('screen.')}"
        grouped.setdefault((name, description), []).append(app.get_key_display(binding))
    rows = [HelpRow(", ".join(dict.fromkeys(keys)), desc, name) for (name, desc), keys in grouped.items()]
    # This screen's bindings first, then app-wide ones, then Textual's own (which have no id).
    return sorted(rows, key=lambda r: (r.binding_id.startswith("("), r.binding_id.startswith("app."), r.binding_id))


class HelpScreen(AppAccess, ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 100; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-title { color: $accent; text-style: bold; height: 1; }
    HelpScreen #help-hint { color: $foreground-muted; height: auto; }
    HelpScreen DataTable { height: 1fr; }
    """
    BINDINGS = [bind("help.close", "escape,q,question_mark", "close", "Close")]

    def __init__(self, title: str, rows: list[HelpRow]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Keys: {self.title_text}", id="help-title", markup=False)
            yield Table(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static("Remap any key by id in the config file: [tui.keymap] \"runs.cancel\" = \"ctrl+x\"",
                         id="help-hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Keys", "Action", "Id")
        for row in self.rows:
            table.add_row(row.keys, row.description, row.binding_id, key=row.binding_id)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
