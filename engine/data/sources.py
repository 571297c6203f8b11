"""Resolve a dataset path (file, glob, folder, ``save_to_disk`` folder, hub id) to the files to read."""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, field
from pathlib import Path

from tailor.engine.data.records import KINDS, kind_of
from tailor.engine.errors import DataError

SPLIT_WORDS = ("train", "validation", "valid", "val", "dev", "test", "eval")


@dataclass
class Resolved:
    """What a dataset path points at: local files (each with its reader kind) or a hub id."""

    spec: str
    files: list[Path] = field(default_factory=list)
    hub_id: str | None = None

    @property
    def kinds(self) -> list[str]:
        return [kind_of(f) or "?" for f in self.files]

    @property
    def label(self) -> str:
        if self.hub_id:
            return self.hub_id
        return str(self.files[0]) if len(self.files) == 1 else f"{self.spec} ({len(self.files)} files)"


def looks_like_hub_id(spec: str) -> bool:
    from tailor.engine.recipes.load import looks_like_hub_id as check  # pydantic and yaml: only when needed

    return check(spec)


def is_hub(spec: str) -> bool:
    return spec.startswith("hf://") or (not Path(spec).expanduser().exists() and looks_like_hub_id(spec))


def resolve(spec: str | Path, *, split: str | None = None) -> Resolved:
    """The files of a dataset path. Raises DataError naming the path when there is nothing to read."""
    text = str(spec)
    if text.startswith("hf://datasets/"):
        return Resolved(text, hub_id=text.removeprefix("hf://datasets/"))
    if text.startswith("hf://"):
        return Resolved(text, hub_id=text.removeprefix("hf://"))
    path = Path(text).expanduser()
    if any(ch in text for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
        files = [p for p in matches if p.is_file() and kind_of(p)]
        if not files:
            raise DataError(f"{text}: the pattern matches no data file")
        return Resolved(text, files=files)
    if path.is_file():
        if kind_of(path) is None:
            raise DataError(
                f"{path}: unknown file type; use .jsonl, .json, .csv, .tsv, .parquet, .arrow or .txt"
            )
        return Resolved(text, files=[path])
    if path.is_dir():
        return Resolved(text, files=_folder_files(path, split))
    if path.is_symlink():  # a dangling link or a loop is not "no such file"
        from tailor.engine.data.readers import check_file

        check_file(path)
    if looks_like_hub_id(text):
        return Resolved(text, hub_id=text)
    raise DataError(f"{text}: no such file or folder")


def _folder_files(folder: Path, split: str | None) -> list[Path]:
    # A DatasetDict saved with save_to_disk: one sub-folder per split.
    dict_file = folder / "dataset_dict.json"
    if dict_file.is_file():
        try:
            splits = json.loads(dict_file.read_text())["splits"]
        except (OSError, ValueError, KeyError):
            raise DataError(f"{dict_file}: not a readable dataset_dict.json") from None
        chosen = split or ("train" if "train" in splits else splits[0])
        if chosen not in splits:
            raise DataError(f"{folder}: no split '{chosen}' (splits: {', '.join(splits)})")
        return _folder_files(folder / chosen, None)
    # A Dataset saved with save_to_disk: state.json lists its Arrow files in order.
    state = folder / "state.json"
    if state.is_file():
        try:
            names = [f["filename"] for f in json.loads(state.read_text())["_data_files"]]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(f"{state}: not a readable save_to_disk state.json") from None
        return [folder / n for n in names]
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and kind_of(p)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.name not in ("dataset_info.json", "state.json", "README.md")
    )
    if not files:
        exts = ", ".join(sorted(KINDS))
        raise DataError(f"{folder}: the folder has no data files ({exts})")
    return _pick_split(files, folder, split)


def _split_of(path: Path, folder: Path) -> str | None:
    words = [w for part in path.relative_to(folder).parts for w in _words(part)]
    return next((w for w in words if w in SPLIT_WORDS), None)


def _words(name: str) -> list[str]:
    for sep in "-_.":
        name = name.replace(sep, " ")
    return name.lower().split()


def _pick_split(files: list[Path], folder: Path, split: str | None) -> list[Path]:
    """In a folder laid out like a hub repo (train-*.parquet, test.jsonl...), keep one split's files."""
    by_split = {f: _split_of(f, folder) for f in files}
    if split:
        chosen = [f for f, s in by_split.items() if s == split.lower()]
        if not chosen:
            raise DataError(f"{folder}: no files for split '{split}'")
        return chosen
    if any(s == "train" for s in by_split.values()):
        return [f for f, s in by_split.items() if s in ("train", None)]
    return files


def sibling_eval(spec: str) -> str | None:
    """For ``.../train.jsonl`` (or ``x_train.csv``...), the eval split beside it, if there is one."""
    path = Path(spec).expanduser()
    if not path.is_file() or "train" not in path.name:
        return None
    for word in ("eval", "validation", "valid", "val", "dev", "test"):
        candidate = path.with_name(path.name.replace("train", word, 1))
        if candidate.is_file():
            return str(candidate)
    return None
