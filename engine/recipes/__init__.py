"""Recipes: YAML files validated by typed models, one per ``kind``."""

from tailor.engine.recipes.common import Recipe
from tailor.engine.recipes.load import dump_recipe, load_recipe, parse_recipe

__all__ = ["Recipe", "dump_recipe", "load_recipe", "parse_recipe"]
