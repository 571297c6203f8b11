"""LLaMA-Factory's ``dataset_info.json``: list its datasets and read one as ``dataset_info.json#name``.

The entry's ``formatting`` (alpaca / sharegpt), ``columns``, ``tags`` and ``ranking`` are applied by
mapping each row to the layout Tailor reads (alpaca instruction/input/output, ShareGPT from/value), so
the usual conversion and checks run unchanged. Entries Tailor cannot read (hub-only, multimodal, a file
that is not there) are listed with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailor.engine.errors import DataError

REGISTRY = "dataset_info.json"
MEDIA = ("images", "videos", "audios")
# LLaMA-Factory's defaults (data/README.md)
ALPACA = {
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "history": "history",
    "system": "system",
}
SHAREGPT = {"messages": "conversations", "system": "system", "tools": "tools"}
TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
SPEAKERS = {
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}


@dataclass
class Entry:
    """One dataset of a registry: where its file is, the Tailor format it maps to, or why it cannot be read."""

    name: str
    spec: dict[str, Any]
    file: Path | None = None
    format: str = "alpaca"
    unsupported: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def transform(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return _sharegpt(self) if self.spec.get("formatting") == "sharegpt" else _alpaca(self)


def is_registry(path: str | Path) -> bool:
    return Path(path).name == REGISTRY and Path(path).is_file()


def split_spec(spec: str) -> tuple[Path, str] | None:
    """``…/dataset_info.json#name`` -> (registry file, name); None for any other path."""
    head, sep, name = str(spec).rpartition("#")
    if not sep or not head.endswith(REGISTRY):
        return None
    return Path(head).expanduser(), name


def load(path: Path) -> list[Entry]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable dataset_info.json ({exc})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected an object of dataset entries")
    return [_entry(path.parent, name, spec) for name, spec in doc.items() if isinstance(spec, dict)]


def find(path: Path, name: str) -> Entry:
    entries = {e.name: e for e in load(path)}
    if name not in entries:
        near = ", ".join(n for n in entries if name.lower() in n.lower())[:200] or ", ".join(
            list(entries)[:8]
        )
        raise DataError(f"{path}: no dataset '{name}' (e.g. {near})")
    entry = entries[name]
    if entry.unsupported:
        raise DataError(f"{path}#{name}: {entry.unsupported}")
    return entry


def _entry(root: Path, name: str, spec: dict[str, Any]) -> Entry:
    cols = spec.get("columns") or {}
    entry = Entry(name, spec, columns=dict(cols))
    if spec.get("ranking"):
        entry.format = "preference"
    elif "kto_tag" in cols:
        entry.format = "unpaired_preference"
    elif spec.get("formatting") == "sharegpt":
        entry.format = "sharegpt"
    elif set(cols) == {"prompt"}:  # pre-training text (c4_demo, wiki_demo)
        entry.format = "text"
    media = [m for m in MEDIA if m in cols]
    if media:
        entry.unsupported = f"multimodal ({', '.join(media)}); Tailor trains text-only models"
    elif not spec.get("file_name"):
        hub = spec.get("hf_hub_url")
        if hub:
            entry.unsupported = f"hub-only; use path: hf://datasets/{hub} in the recipe"
        elif spec.get("ms_hub_url"):
            entry.unsupported = "ModelScope-only; download it beside dataset_info.json and set file_name"
        else:
            entry.unsupported = "no file_name and no hf_hub_url"
    else:
        entry.file = root / spec["file_name"]
        if not entry.file.exists():
            entry.unsupported = f"{spec['file_name']} is not beside {REGISTRY}"
    if spec.get("formatting") not in (None, "alpaca", "sharegpt") and not entry.unsupported:
        entry.unsupported = f"formatting '{spec['formatting']}' is not alpaca or sharegpt"
    return entry


def _alpaca(entry: Entry) -> Callable[[dict[str, Any]], dict[str, Any]]:
    cols = {**ALPACA, **entry.columns}

    def apply(row: dict[str, Any]) -> dict[str, Any]:
        if entry.format == "text":
            return {"text": row.get(cols["prompt"])}
        out: dict[str, Any] = {"instruction": row.get(cols["prompt"]), "input": row.get(cols["query"]) or ""}
        for key in ("history", "system", "tools"):
            if cols.get(key) in row:
                out[key] = row[cols[key]]
        if entry.format == "preference":
            out["chosen"], out["rejected"] = (
                row.get(cols.get("chosen", "chosen")),
                row.get(cols.get("rejected", "rejected")),
            )
        else:
            out["output"] = row.get(cols["response"])
        if entry.format == "unpaired_preference":
            out["label"] = row.get(cols["kto_tag"])
        return out

    return apply


def _sharegpt(entry: Entry) -> Callable[[dict[str, Any]], dict[str, Any]]:
    cols = {**SHAREGPT, **entry.columns}
    tags = {**TAGS, **(entry.spec.get("tags") or {})}
    speakers = {tags[k]: v for k, v in SPEAKERS.items()}

    def turn(t: Any) -> Any:
        if not isinstance(t, dict) or tags["role_tag"] not in t:
            return t  # left for the checks to name
        role = t[tags["role_tag"]]
        return {"from": speakers.get(role, role), "value": t.get(tags["content_tag"])}

    def apply(row: dict[str, Any]) -> dict[str, Any]:
        turns = row.get(cols["messages"])
        out: dict[str, Any] = {
            "conversations": [turn(t) for t in turns] if isinstance(turns, list) else turns
        }
        for key in ("system", "tools"):
            if cols.get(key) in row:
                out[key] = row[cols[key]]
        if entry.format == "preference":
            out["chosen"] = turn(row.get(cols.get("chosen", "chosen")))
            out["rejected"] = turn(row.get(cols.get("rejected", "rejected")))
        if entry.format == "unpaired_preference":
            out["label"] = row.get(cols["kto_tag"])
        return out

    return apply
