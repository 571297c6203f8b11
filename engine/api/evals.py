"""Evaluations: the models one can evaluate (or chat with), preparing an eval launch, the metrics,
reading results and predictions, and the comparison table (text, CSV, Markdown)."""

from tailor.engine.eval.choices import model_choices
from tailor.engine.eval.flips import find_flips
from tailor.engine.eval.launch import (
    EvalLaunch,
    RecipeDefaults,
    datasets,
    eval_recipes,
    prepare,
    recipe_defaults,
)
from tailor.engine.eval.results import (
    CANARIES,
    EvalResults,
    PredictionIndex,
    find_evaluations,
    has_results,
    iter_predictions,
    load_results,
    prediction,
    score_delta,
)
from tailor.engine.eval.stats import Difference, Flips, is_canary
from tailor.engine.eval.table import (
    build_table,
    delta_is_good,
    fmt_delta,
    fmt_interval,
    fmt_value,
    merge,
    score_metric,
    title,
    to_csv,
    to_markdown,
)
from tailor.engine.recipes.eval_metrics import METRICS

__all__ = [
    "CANARIES",
    "METRICS",
    "Difference",
    "Flips",
    "EvalLaunch",
    "EvalResults",
    "PredictionIndex",
    "RecipeDefaults",
    "build_table",
    "datasets",
    "delta_is_good",
    "eval_recipes",
    "find_evaluations",
    "find_flips",
    "fmt_delta",
    "fmt_interval",
    "fmt_value",
    "has_results",
    "is_canary",
    "iter_predictions",
    "load_results",
    "merge",
    "model_choices",
    "prediction",
    "prepare",
    "recipe_defaults",
    "score_delta",
    "score_metric",
    "title",
    "to_csv",
    "to_markdown",
]
