"""Bindings with ids, and the user's keymap (binding id -> keys) from the config file.

Every binding in Tailor has an id ``"<screen>.<action>"`` (``app.*`` for app-wide ones); the keymap in
the settings remaps keys by id through Textual's own keymap support (``App.set_keymap``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from textual.binding import Binding

ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def bind(
    id: str,
    key: str,
    action: str,
    description: str,
    *,
    show: bool = True,
    priority: bool = False,
    key_display: str | None = None,
) -> Binding:
    """A Binding that always carries an id (the name users remap in the config)."""
    if not ID_RE.match(id):
        raise ValueError(f"binding id {id!r} must look like 'screen.action'")
    return Binding(key, action, description, show=show, priority=priority, key_display=key_display, id=id)


def binding_ids(bindings: Iterable[object]) -> set[str]:
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}


def keymap_problems(keymap: Mapping[str, str]) -> list[str]:
    """One line per malformed entry (ids are checked for shape only: screens load lazily)."""
    problems = []
    for binding_id, keys in keymap.items():
        if not ID_RE.match(binding_id):
            problems.append(f"tui.keymap: {binding_id!r} is not a binding id like 'runs.cancel' (see ? for ids)")
        elif not str(keys).strip():
            problems.append(f"tui.keymap: {binding_id!r} has no keys")
    return problems


def clean_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """The usable entries: well-formed ids with keys, spaces around commas removed."""
    out = {}
    for binding_id, keys in keymap.items():
        if ID_RE.match(binding_id) and str(keys).strip():
            out[binding_id] = ",".join(k.strip() for k in str(keys).split(",") if k.strip())
    return out
