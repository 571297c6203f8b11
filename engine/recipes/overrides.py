"""Dotted overrides (``lora.r=8``, ``train.learning_rate=1e-3``) applied to a recipe before launch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tailor.engine.errors import RecipeError
from tailor.engine.recipes.common import Recipe
from tailor.engine.recipes.load import load_recipe, parse_recipe
from tailor.engine.recipes.search_params import set_path
from tailor.engine.recipes.yamlio import load_yaml


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key.path=value`` with the value read as YAML (so numbers, booleans and lists work)."""
    if "=" not in text:
        raise RecipeError(f"override {text!r}: expected key.path=value, e.g. lora.r=8")
    key, raw = text.split("=", 1)
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for dotted, value in overrides.items():
        set_path(data, dotted, value)
    return data


def load_with_overrides(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load a recipe file and apply overrides; the result is validated as a whole."""
    path = Path(path)
    if not overrides:
        return load_recipe(path)
    load_recipe(path, check_files=False)  # report problems of the file itself first
    data = load_yaml(path.read_text(encoding="utf-8-sig"))
    data = apply_overrides(data, dict(overrides))
    return parse_recipe(data, source=f"{path} (with overrides)", base_dir=path.parent)
