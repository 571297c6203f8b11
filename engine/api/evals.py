"""Evaluations: the models one can evaluate (or chat with), preparing an eval launch, the metrics,
reading results and predictions, and the comparison table (text, CSV, Markdown)."""

from tailor.engine.eval.choices import model_choices
from tailor.engine.eval.launch import (
    EvalLaunch,
    RecipeDefaults,
    datasets,
    eval_recipes,
    prepare,
    recipe_defaults,
)
from tailor.engine.eval.results import (
    EvalResults,
    PredictionIndex,
    find_evaluations,
    has_results,
    load_results,
    score_delta,
)
from tailor.engine.eval.table import (
    build_table,
    delta_is_good,
    fmt_delta,
    fmt_value,
    merge,
    score_metric,
    title,
    to_csv,
    to_markdown,
)
from tailor.engine.recipes.eval_metrics import METRICS

__all__ = [
    "METRICS",
    "EvalLaunch",
    "EvalResults",
    "PredictionIndex",
    "RecipeDefaults",
    "build_table",
    "datasets",
    "delta_is_good",
    "eval_recipes",
    "find_evaluations",
    "fmt_delta",
    "fmt_value",
    "has_results",
    "load_results",
    "merge",
    "model_choices",
    "prepare",
    "recipe_defaults",
    "score_delta",
    "score_metric",
    "title",
    "to_csv",
    "to_markdown",
]
