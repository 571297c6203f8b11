"""The workspace's datasets: files under ``data/``, paths used by recipes, and recently opened paths."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from tailor.engine.data.records import kind_of
from tailor.engine.fsutil import atomic_write_json

RECENT_FILE = "recent-data.json"
RECENT_MAX = 20


@dataclass
class Entry:
    path: str
    origin: str  # "workspace", "recipe:<name>", "recent"
    size: int | None = None
    kind: str | None = None

    @property
    def exists(self) -> bool:
        return Path(self.path).exists()


def _size(path: Path) -> int | None:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return None


def workspace_datasets(ws) -> list[Entry]:  # ws: engine.workspace.Workspace
    """Data files under the workspace's data folder (save_to_disk folders count as one dataset)."""
    root = ws.data_dir
    if not root.is_dir():
        return []
    out: list[Entry] = []
    saved = {p.parent for p in root.rglob("state.json")} | {p.parent for p in root.rglob("dataset_dict.json")}
    for folder in sorted(saved):
        out.append(Entry(str(folder), "workspace", _size(folder), "save_to_disk"))
    for path in sorted(root.rglob("*")):
        if path.is_file() and kind_of(path) and not any(s in path.parents for s in saved):
            if path.name in ("dataset_info.json", "state.json", "dataset_dict.json") or path.name.startswith(
                "README"
            ):
                continue
            out.append(Entry(str(path), "workspace", _size(path), kind_of(path)))
    return out


def recipe_datasets(ws) -> list[Entry]:
    """Dataset paths named by the workspace's recipes (read without validating the recipes)."""
    import yaml

    out: list[Entry] = []
    for recipe in ws.recipes():
        try:
            doc = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        data = doc.get("data") if isinstance(doc, dict) else None
        sources: list = []
        if isinstance(data, dict):
            for key in ("train", "eval"):
                value = data.get(key)
                sources += value if isinstance(value, list) else [value] if value else []
        elif isinstance(data, list | str):
            sources = data if isinstance(data, list) else [data]
        for src in sources:
            raw = src.get("path") if isinstance(src, dict) else src
            if not isinstance(raw, str):
                continue
            path = Path(raw).expanduser()
            if not path.is_absolute() and (recipe.parent / path).exists():
                path = (recipe.parent / path).resolve()
            out.append(
                Entry(
                    str(path) if path.exists() else raw,
                    f"recipe:{recipe.stem}",
                    _size(path) if path.exists() else None,
                    kind_of(path),
                )
            )
    return out


def recent(ws) -> list[str]:
    try:
        items = json.loads((ws.root / RECENT_FILE).read_text())
        return [str(p) for p in items.get("paths", [])][:RECENT_MAX]
    except (OSError, ValueError, AttributeError):
        return []


def remember(ws, path: str) -> None:
    """Put ``path`` first in the recently used list, absolute when it names something here (a
    ``dataset_info.json#name`` entry too): the list is read from whatever folder Tailor starts in next."""
    path = absolute(path)
    paths = [p for p in recent(ws) if p != path]
    atomic_write_json(ws.root / RECENT_FILE, {"paths": [path, *paths][:RECENT_MAX], "updated": time.time()})


def absolute(path: str) -> str:
    """``path`` resolved against the current folder when its file exists (``FILE#entry``: the file part);
    a hub id or a path that does not exist stays as written."""
    if Path(path).expanduser().exists():  # a file whose name has a "#" in it
        return str(Path(path).expanduser().resolve())
    file, sep, entry = path.partition("#")
    where = Path(file).expanduser()
    return f"{where.resolve()}{sep}{entry}" if sep and where.is_file() else path


def all_datasets(ws) -> list[Entry]:
    """Workspace files, then recipe paths, then recent paths; each path once."""
    seen: set[str] = set()
    out: list[Entry] = []
    for entry in [*workspace_datasets(ws), *recipe_datasets(ws), *(Entry(p, "recent") for p in recent(ws))]:
        key = (
            str(Path(entry.path).expanduser().resolve())
            if Path(entry.path).expanduser().exists()
            else entry.path
        )
        if key in seen:
            continue
        seen.add(key)
        if entry.origin == "recent" and entry.exists:
            entry.size, entry.kind = _size(Path(entry.path)), kind_of(entry.path)
        out.append(entry)
    return out
