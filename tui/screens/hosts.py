"""The Hosts screen: SSH hosts with reachability, GPUs (nvidia-smi) and the Python/Tailor found there.

Every host of the workspace (workspace.yaml ``hosts:``) and of ~/.ssh/config is probed in parallel on
the engine thread. Keys: ``t`` test the selected host again, ``a`` add, ``e`` edit, ``k`` trust its
host key (the fingerprint is shown first; a changed key is refused), ``s`` set it up (install this
Tailor version there), ``d`` remove it from the workspace, ``r`` re-probe all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from tailor.tui.context import AppAccess
from tailor.tui.keymap import bind
from tailor.tui.screens.base import TailorScreen
from tailor.tui.widgets.table import Table

FORM_FIELDS = (
    ("name", "name (alias)"),
    ("hostname", "hostname (empty: the name through ~/.ssh/config)"),
    ("user", "user"),
    ("port", "port"),
    ("identity_file", "identity file"),
    ("proxy_jump", "proxy jump"),
    ("python", "python on the host (empty: `setup` makes a venv)"),
    ("workdir", "remote workdir (default ~/.tailor)"),
)


class HostFormScreen(AppAccess, ModalScreen[dict[str, Any] | None]):
    """Add or edit a host: one input per field; enter or ctrl+s saves, escape cancels."""

    DEFAULT_CSS = """
    HostFormScreen { align: center middle; }
    HostFormScreen > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1; overflow-y: auto;
    }
    HostFormScreen #hostform-title { text-style: bold; color: $accent; }
    HostFormScreen Label { color: $foreground-muted; }
    HostFormScreen Input { background: $boost; }
    HostFormScreen Horizontal { height: auto; margin-top: 1; }
    HostFormScreen Button { margin-right: 2; }
    """
    # A label line and a one-line (compact) input per field: the eight fields and the buttons fit in
    # 24 rows; on a shorter terminal the form scrolls and tab brings each field and button into view.
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("hostform.save", "ctrl+s", "save", "Save"),
        bind("hostform.cancel", "escape", "cancel", "Cancel"),
    ]

    def __init__(self, values: dict[str, Any] | None = None, *, editing: bool = False) -> None:
        super().__init__()
        self.values = values or {}
        self.editing = editing

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Edit host" if self.editing else "Add host", id="hostform-title", markup=False)
            for key, label in FORM_FIELDS:
                yield Label(label)
                value = self.values.get(key)
                text = ", ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
                yield Input(text, id=f"host-{key}", disabled=self.editing and key == "name", compact=True)
            with Horizontal():
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#host-hostname" if self.editing else "#host-name", Input).focus()

    def collect(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, _label in FORM_FIELDS:
            out[key] = self.query_one(f"#host-{key}", Input).value.strip() or None
        return out

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_save() if event.button.id == "save" else self.dismiss(None)

    def action_save(self) -> None:
        self.dismiss(self.collect())

    def action_cancel(self) -> None:
        self.dismiss(None)


class HostsScreen(TailorScreen):
    @dataclass
    class Probed(Message):
        """One host's probe: its table row (reachability, GPUs, Python, Tailor), keyed by column."""

        name: str
        row: dict[str, Any]

    SCREEN_NAME = "hosts"
    DEFAULT_CSS = """
    HostsScreen #hosts-table { height: 1fr; }
    HostsScreen #hosts-detail { height: auto; max-height: 40%; padding: 0 1; border-top: solid $border; }
    HostsScreen #hosts-empty { display: none; padding: 1 2; color: $foreground-muted; }
    HostsScreen.-empty #hosts-empty { display: block; }
    HostsScreen.-empty #hosts-table { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("hosts.cursor_down", "j", "cursor_down", "Down", show=False),
        bind("hosts.cursor_up", "k", "cursor_up", "Up", show=False),
        bind("hosts.test", "t", "test", "Test"),
        bind("hosts.add", "a", "add", "Add"),
        bind("hosts.edit", "e", "edit", "Edit"),
        bind("hosts.trust", "K", "trust", "Trust key"),
        bind("hosts.setup", "s", "setup", "Set up"),
        bind("hosts.remove", "d", "remove", "Remove"),
        bind("hosts.refresh", "r", "refresh", "Re-probe all"),
        bind("hosts.doctor", "D", "doctor", "Doctor", show=False),
    ]
    NEEDS_ITEMS = ("cursor_down", "cursor_up", "test", "edit", "trust", "setup", "remove", "refresh")

    def empty_hint(self) -> str | None:
        return None if self.rows else "no hosts yet: press a to add one, or `tailor hosts add NAME --hostname ADDRESS`"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.probes = 0  # completed probes (tests wait on this)

    def compose_body(self) -> ComposeResult:
        yield Table(id="hosts-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="hosts-detail", markup=False)
        yield Static(
            "No hosts yet. Press a to add one, or define a Host in ~/.ssh/config; "
            "`tailor hosts add NAME --hostname ADDRESS` does the same.",
            id="hosts-empty",
            markup=False,
        )

    @property
    def table(self) -> DataTable:
        return self.query_one("#hosts-table", DataTable)

    @property
    def selected(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def on_mount(self) -> None:
        for key, label in (
            ("name", "host"),
            ("address", "address"),
            ("state", "state"),
            ("gpus", "GPUs"),
            ("python", "python"),
            ("tailor", "tailor"),
        ):
            self.table.add_column(label, key=key)
        self.table.focus()
        self.call_after_refresh(self.reload)

    # -- listing and probing -------------------------------------------------------------------
    @work(group="hosts.list", exclusive=True, exit_on_error=False)
    async def reload(self, probe: bool = True) -> None:
        rows = await self.tailor.bridge.run(_list_hosts(self.tailor.workspace))
        self.rows = {r["name"]: r for r in rows}
        table = self.table
        table.clear()
        for row in rows:
            table.add_row(*self._cells(row), key=row["name"])
        self.set_class(not rows, "-empty")
        self.show_detail()
        if probe:
            for name in self.rows:
                self.probe(name)

    @work(group="hosts.probe", exit_on_error=False)
    async def probe(self, name: str) -> None:
        self._update(name, {"state": "checking..."})
        result = await self.tailor.bridge.run(_probe(self.tailor.workspace, name))
        self.post_message(self.Probed(name, result))

    def on_hosts_screen_probed(self, message: HostsScreen.Probed) -> None:
        self.probes += 1
        row = message.row
        state = f"ok {row['latency_ms']:.0f} ms" if row["reachable"] else "unreachable"
        self._update(message.name, {**row, "state": state})

    def _update(self, name: str, fields: dict[str, Any]) -> None:
        if name not in self.rows:
            return
        self.rows[name].update(fields)
        cells = self._cells(self.rows[name])
        for key, value in zip(("name", "address", "state", "gpus", "python", "tailor"), cells, strict=True):
            self.table.update_cell(name, key, value, update_width=True)
        if name == self.selected:
            self.show_detail()

    @staticmethod
    def _cells(row: dict[str, Any]) -> tuple[str, ...]:
        gpus = row.get("gpus")
        gpu_text = (
            "-"
            if gpus is None or not row.get("reachable", True)
            else (
                ", ".join(
                    f"{g['name']} {g['memory_used_mib'] / 1024:.1f}/{g['memory_total_mib'] / 1024:.0f}G {g['utilization_pct'] or 0}%"
                    for g in gpus
                )
                or "no GPU"
            )
        )
        return (
            row["name"],
            row["address"],
            row.get("state", "-"),
            gpu_text,
            row.get("python_version") or "-",
            row.get("tailor_version") or "-",
        )

    def show_detail(self) -> None:
        name = self.selected
        row = self.rows.get(name or "")
        text = ""
        if row:
            text = f"{row['name']}  {row['address']}  ({row['source']})  workdir {row['workdir']}"
            if row.get("error"):
                text += f"\n{row['error']}"
        self.query_one("#hosts-detail", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.show_detail()

    # -- actions -------------------------------------------------------------------------------
    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_test(self) -> None:
        if self.selected:
            self.probe(self.selected)

    def action_refresh(self) -> None:
        self.reload()

    def action_add(self) -> None:
        self.app.push_screen(HostFormScreen(), self._save_new)

    def action_edit(self) -> None:
        if self.selected:
            self._edit(self.selected)

    @work(group="hosts.edit", exit_on_error=False)
    async def _edit(self, name: str) -> None:
        from tailor.engine.api.hosts import get_host

        host = await self.tailor.bridge.call(lambda: get_host(self.tailor.workspace, name))
        self.app.push_screen(
            HostFormScreen({"name": name, **host.to_yaml_dict()}, editing=True),
            lambda values: self._save_edit(name, values),
        )

    def _save_new(self, values: dict[str, Any] | None) -> None:
        if values:
            self._save(values, new=True)

    def _save_edit(self, name: str, values: dict[str, Any] | None) -> None:
        if values:
            self._save({**values, "name": name}, new=False)

    @work(group="hosts.save", exit_on_error=False)
    async def _save(self, values: dict[str, Any], new: bool) -> None:
        name = await self.tailor.bridge.run(_save_host(self.tailor.workspace, values, new))
        self.notify(f"{'added' if new else 'saved'} host {name}")
        self.reload()

    @work(group="hosts.trust", exclusive=True, exit_on_error=False)
    async def action_trust(self) -> None:
        from tailor.engine.api import hosts
        from tailor.engine.api.errors import HostError
        from tailor.tui.screens.confirm import ConfirmScreen

        name = self.selected
        if not name:
            return
        check, path = await self.tailor.bridge.run(hosts.check_key(self.tailor.workspace, name))
        if check.state == "trusted":
            self.notify(f"{name}: host key already trusted ({check.fingerprint})")
            return
        if check.state == "changed":
            raise HostError(hosts.changed_message(path, check))
        message = (
            f"{name} ({check.pattern}) offers a {check.key_type} host key\n\n  {check.fingerprint}\n\n"
            f"Check it with the host's owner. Trust it and add it to {path}?"
        )
        if await self.app.push_screen_wait(ConfirmScreen(message, yes="Trust")):
            await self.tailor.bridge.call(lambda: hosts.trust_key(path, check))
            self.notify(f"trusted {check.pattern}")
            self.probe(name)

    @work(group="hosts.setup", exclusive=True, exit_on_error=False)
    async def action_setup(self) -> None:
        name = self.selected
        if not name:
            return

        def say(text: str) -> None:
            self.app.call_from_thread(self.notify, f"{name}: {text}")

        from tailor.engine.api import hosts

        self.notify(f"{name}: setting up (building and installing Tailor)...")
        await self.tailor.bridge.run(hosts.setup(self.tailor.workspace, name, say))
        self.probe(name)

    @work(group="hosts.doctor", exclusive=True, exit_on_error=False)
    async def action_doctor(self) -> None:
        """Before a multi-node launch: can the host's nodes train together? (``tailor hosts doctor``)."""
        from tailor.engine.api import hosts

        name = self.selected
        if not name:
            return
        self.notify(f"{name}: doctor running (two tasks: rendezvous, all-reduce)...")
        report = await self.tailor.bridge.run(hosts.doctor(self.tailor.workspace, name))
        self.notify("\n".join(hosts.doctor_lines(name, report)), severity="information" if report["ok"] else "error",
                    timeout=30, markup=False)

    @work(group="hosts.remove", exclusive=True, exit_on_error=False)
    async def action_remove(self) -> None:
        from tailor.engine.api.hosts import remove_host
        from tailor.tui.screens.confirm import ConfirmScreen

        name = self.selected
        if name and (await self.app.push_screen_wait(
            ConfirmScreen(f"Remove host {name} from the workspace? Runs and files on it are left alone.")
        )) is True:
            await self.tailor.bridge.call(lambda: remove_host(self.tailor.workspace, name))
            self.notify(f"removed {name}")
            self.reload(probe=False)


# -- engine-thread helpers ---------------------------------------------------------------------------
async def _list_hosts(ws: Any) -> list[dict[str, Any]]:
    from tailor.engine.api import hosts

    return [{**row, "state": "-"} for row in hosts.list_hosts(ws)]


async def _probe(ws: Any, name: str) -> dict[str, Any]:
    from tailor.engine.api import hosts

    return (await hosts.probe_host(ws, name)).to_dict()


async def _save_host(ws: Any, values: dict[str, Any], new: bool) -> str:
    from tailor.engine.api.errors import HostError
    from tailor.engine.api.hosts import new_host, save_host, update_host, workspace_hosts

    name = values.pop("name") or ""
    if values.get("port"):
        if not str(values["port"]).isdigit():
            raise HostError(f"host {name}: port must be a number")
        values["port"] = int(values["port"])
    if values.get("identity_file"):
        values["identity_file"] = [p.strip() for p in values["identity_file"].split(",") if p.strip()]
    if new:
        if name in workspace_hosts(ws):
            raise HostError(f"host {name!r} exists already: press e to edit it")
        save_host(ws, new_host(name, {k: v for k, v in values.items() if v is not None}))
    else:
        update_host(ws, name, values)
    return name
