"""docs/tui.md's keys are the code's: the Runs key table against RunsScreen's bindings (both ways), every
binding id the modal-keys paragraph names, and the number keys against the screen registry. No app runs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from textual.binding import Binding

from tailor.tui.screens import SCREENS
from tailor.tui.screens.runs import RunsScreen

DOC = (Path(__file__).resolve().parents[2] / "docs" / "tui.md").read_text()
TICKED = re.compile(r"`([^`]+)`")
# How the docs write a key that Textual names otherwise.
SHOWN = {"slash": "/", "escape": "esc", "question_mark": "?"}


def _keys(binding: Binding) -> set[str]:
    return {SHOWN.get(k.strip(), k.strip()) for k in binding.key.split(",")}


def _all_bindings() -> dict[str, Binding]:
    import tailor.tui.app as app
    import tailor.tui.screens as screens
    import tailor.tui.widgets as widgets

    modules = [app] + [importlib.import_module(f"{pkg.__name__}.{info.name}")
                       for pkg in (screens, widgets) for info in pkgutil.iter_modules(pkg.__path__)]
    found: dict[str, Binding] = {}
    for module in modules:
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            for binding in getattr(cls, "BINDINGS", None) or []:
                if isinstance(binding, Binding) and binding.id:
                    found.setdefault(binding.id, binding)
    return found


def test_runs_key_table_matches_the_bindings():
    lines = DOC[DOC.index("| key | id | action |"):].splitlines()
    rows = lines[2:lines.index("")]  # the header, its rule, then the rows up to the blank line
    bindings = {b.id: b for b in RunsScreen.BINDINGS if isinstance(b, Binding)}
    documented: set[str] = set()
    for row in rows:
        keys_cell, ids_cell, _what = (cell.strip() for cell in row.strip("|").split("|", 2))
        keys = set(TICKED.findall(keys_cell))
        for binding_id in TICKED.findall(ids_cell):
            assert binding_id in bindings, f"docs/tui.md documents {binding_id!r}, which RunsScreen does not bind"
            assert _keys(bindings[binding_id]) <= keys, f"{binding_id}: docs say {sorted(keys)}, code binds {bindings[binding_id].key!r}"
            documented.add(binding_id)
    assert set(bindings) - documented == set(), "Runs bindings missing from docs/tui.md's key table"


def test_modal_key_ids_exist_and_number_keys_match_the_screens():
    paragraph = DOC[DOC.index("Modal keys:"):DOC.index("### The launch form")]
    bindings = _all_bindings()
    for ticked in TICKED.findall(paragraph):
        if not re.fullmatch(r"[a-z_]+\.(\*|[a-z_]+)", ticked):
            continue  # a key, not an id
        prefix, name = ticked.split(".")
        if name == "*":
            assert any(i.startswith(f"{prefix}.") for i in bindings), f"docs/tui.md: no binding ids {ticked}"
        else:
            assert ticked in bindings, f"docs/tui.md names the binding id {ticked!r}, which nothing binds"
    assert f"`1`..`{len(SCREENS)}` switch screens" in DOC
    assert [bindings[f"app.screen.{s.name}"].key for s in SCREENS] == [str(i) for i in range(1, len(SCREENS) + 1)]
