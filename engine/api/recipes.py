"""Recipes: load and parse them, apply ``key=value`` overrides, read YAML, and the typed models they
are made of (model, data, the trainable recipe)."""

from tailor.engine.recipes.common import DataFormat, DataSource, DataSpec, ModelSpec
from tailor.engine.recipes.load import load_recipe, parse_recipe
from tailor.engine.recipes.overrides import apply_overrides, load_with_overrides, parse_assignment
from tailor.engine.recipes.sft import SFTRecipe
from tailor.engine.recipes.trainable import TrainableRecipe
from tailor.engine.recipes.yamlio import load_yaml

__all__ = [
    "DataFormat",
    "DataSource",
    "DataSpec",
    "ModelSpec",
    "SFTRecipe",
    "TrainableRecipe",
    "apply_overrides",
    "load_recipe",
    "load_with_overrides",
    "load_yaml",
    "parse_assignment",
    "parse_recipe",
]
