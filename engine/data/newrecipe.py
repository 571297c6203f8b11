"""Put a dataset into a new recipe: the Datasets screen's "new recipe" action (and its tests)."""

from __future__ import annotations

import re
from pathlib import Path

from tailor.engine.errors import DataError
from tailor.engine.fsutil import atomic_write_text

TEMPLATE = """\
# Made by Tailor from the Datasets screen: {label} ({description}).
# Edit freely; every field can also be overridden at launch (`tailor run {name} -s train.max_steps=50`).
kind: {kind}
name: {name}
model: {model}
method: lora
{extra}data:
  train:
    - path: {path}
      format: {format}
  eval_split: 0.1
train:
  max_steps: 100
  learning_rate: 2.0e-4
  per_device_train_batch_size: 8
  logging_steps: 10
  eval_strategy: steps
  eval_steps: 50
  max_length: {max_length}
"""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def recipe_name(path: str) -> str:
    stem = Path(path.rstrip("/")).name.split(".")[0] or "dataset"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "dataset"
    return name[:56]


def new_recipe(
    ws, path: str, fmt: str, *, model: str = "tailor/tiny", max_length: int = 1024
) -> Path:  # ws: engine.workspace.Workspace
    """Write ``recipes/<dataset>[-N].yaml`` training on ``path`` and return it (validated by the recipe loader)."""
    from tailor.engine.data.formats import DESCRIPTIONS
    from tailor.engine.recipes.load import parse_recipe

    if fmt not in DESCRIPTIONS:
        raise DataError(f"{path}: cannot make a recipe for a dataset of unknown format; set its format first")
    kind, extra = "sft", ""
    if fmt == "preference":
        kind, extra = "dpo", "trainer: dpo\nbeta: 0.1\n"
    elif fmt == "unpaired_preference":
        kind, extra = "dpo", "trainer: kto\nbeta: 0.1\nloss_type: kto\n"
    base = f"{recipe_name(path)}-{kind}"
    target = ws.recipes_dir / f"{base}.yaml"
    n = 2
    while target.exists():
        target = ws.recipes_dir / f"{base}-{n}.yaml"
        n += 1
    text = TEMPLATE.format(
        label=Path(path).name,
        description=DESCRIPTIONS[fmt],
        kind=kind,
        name=target.stem,
        model=_quote(model),
        extra=extra,
        path=_quote(path),
        format=fmt,
        max_length=max_length,
    )
    parse_recipe(
        text, source=str(target), base_dir=ws.recipes_dir
    )  # refuse to write a recipe that cannot load
    ws.recipes_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text, mode=0o644)
    return target
