"""``?``: every binding of the current screen (keys after the user's keymap, description, id), with j/k/g/G
like every list, and a keymap example that names one of this screen's own binding ids."""

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
    BINDINGS = [
        bind("help.close", "escape,q,question_mark", "close", "Close"),
        bind("help.down", "j", "move(1)", "Down", show=False),
        bind("help.up", "k", "move(-1)", "Up", show=False),
        bind("help.first", "g", "edge(0)", "First", show=False),
        bind("help.last", "G", "edge(1)", "Last", show=False),
    ]

    def __init__(self, title: str, rows: list[HelpRow]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Keys: {self.title_text}", id="help-title", markup=False)
            yield Table(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static(f"Remap keys by id in the config file: [tui.keymap] {remap_example(self.rows)}",
                         id="help-hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Keys", "Action", "Id")
        for row in self.rows:
            table.add_row(row.keys, row.description, row.binding_id, key=row.binding_id)
        table.focus()

    def action_move(self, delta: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))

    def action_edge(self, end: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.row_count - 1) if end else 0)

    def action_close(self) -> None:
        self.dismiss(None)


def remap_example(rows: list[HelpRow]) -> str:
    """A keymap line for one of this screen's own bindings (the first with a letter key), so the example fits."""
    own = [r for r in rows if not r.binding_id.startswith(("(", "app."))]
    lettered = [r for r in own if len(first := r.keys.split(",")[0].strip()) == 1 and first.isalpha()]
    if lettered:
        return f'"{lettered[0].binding_id}" = "ctrl+{lettered[0].keys[0].lower()}"'
    return f'"{own[0].binding_id}" = "f2"' if own else '"app.help" = "f1"'
