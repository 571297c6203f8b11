"""Samplers, pruners, grid points, trial recipes and screen views from a recipe (no training)."""

from __future__ import annotations

import optuna
import pytest
import yaml
from search_helpers import write_search

from tailor.engine.recipes import load_recipe
from tailor.engine.search import SearchError
from tailor.engine.search.space import (
    check_enqueue,
    grid_space,
    promoted_recipe_data,
    suggest,
    trial_recipe_data,
)
from tailor.engine.search.study import make_pruner, make_sampler
from tailor.engine.search.views import compact, heatmap, importance_bars, sort_rows


def test_samplers_and_pruners(workspace) -> None:
    recipe = load_recipe(write_search(workspace, eval_steps=5))
    assert isinstance(make_sampler(recipe), optuna.samplers.TPESampler)
    assert isinstance(make_pruner(recipe), optuna.pruners.MedianPruner)
    recipe = load_recipe(write_search(workspace, sampler="random", pruner="hyperband", eval_steps=5))
    assert isinstance(make_sampler(recipe), optuna.samplers.RandomSampler)
    hyperband = make_pruner(recipe)
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner) and hyperband._min_resource == 5
    assert isinstance(make_pruner(load_recipe(write_search(workspace, pruner="none"))), optuna.pruners.NopPruner)


def test_grid_sampler_points(workspace) -> None:
    space = {"r": [4, 8], "learning_rate": [0.001, 0.01], "lora_dropout": {"low": 0.0, "high": 0.1, "step": 0.05}}
    recipe = load_recipe(write_search(workspace, sampler="grid", space=space))
    assert grid_space(recipe) == {"r": [4, 8], "learning_rate": [0.001, 0.01], "lora_dropout": [0.0, 0.05, 0.1]}
    assert isinstance(make_sampler(recipe), optuna.samplers.GridSampler)


def test_trial_recipe_applies_params_ties_and_trial_only_settings(workspace) -> None:
    recipe = load_recipe(write_search(workspace, trial_train={"max_steps": 3}))
    study = optuna.create_study(sampler=make_sampler(recipe))
    values = suggest(study.ask(), recipe)
    assert values["lora_alpha"] == 2 * values["r"] and 1e-3 <= values["learning_rate"] <= 1e-2
    data = trial_recipe_data(recipe, values, name="t-0")
    assert data["lora"]["r"] == values["r"] and data["lora"]["lora_alpha"] == 2 * values["r"]
    assert data["train"]["learning_rate"] == values["learning_rate"] and data["train"]["max_steps"] == 3
    assert data["train"]["eval_strategy"] == "steps" and data["train"]["eval_steps"] == 2
    assert data["train"]["save_strategy"] == "no"
    full = promoted_recipe_data(recipe, values, name="full")
    assert full["train"]["max_steps"] == 6 and "save_strategy" not in full["train"]  # the base's own budget


def test_enqueue_checks_against_the_space(workspace) -> None:
    recipe = load_recipe(write_search(workspace))
    assert check_enqueue(recipe.space, {"r": "8", "learning_rate": "2e-3"}) == {"r": 8, "learning_rate": 0.002}
    for params, expected in (({"r": 5}, "not one of the choices"), ({"learning_rate": "x"}, "expected a number")):
        with pytest.raises(SearchError, match=expected):
            check_enqueue(recipe.space, params)


def test_views() -> None:
    rows = [
        {"number": 0, "state": "complete", "params": {"r": 8, "learning_rate": 1e-3}, "derived": {}, "value": 3.0},
        {"number": 1, "state": "complete", "params": {"r": 8, "learning_rate": 1.1e-3}, "derived": {}, "value": 2.0},
        {"number": 2, "state": "pruned", "params": {"r": 4, "learning_rate": 9e-3}, "derived": {}, "value": None},
    ]
    space = {"r": {"choices": [4, 8]}, "learning_rate": {"low": 1e-3, "high": 1e-2, "log": True}}
    grid = heatmap({"rows": rows, "space": space, "direction": "minimize"}, bins=2)
    assert grid["x"] == "learning_rate" and grid["y"] == "r" and grid["x_labels"] == ["1e-3", "3.2e-3"]
    assert grid["cells"] == [[None, None], [2.0, None]] and grid["counts"][1][0] == 2
    assert [r["number"] for r in sort_rows(rows, "value")] == [1, 0, 2]
    assert [r["number"] for r in sort_rows(rows, "value", "maximize")] == [0, 1, 2]
    assert importance_bars({"r": 0.25, "learning_rate": 0.75}, width=4) == [
        ("learning_rate", 0.75, "███·"),
        ("r", 0.25, "█···"),
    ]
    assert [compact(v) for v in (3e-4, 0.25, 128, 0)] == ["3e-4", "0.25", "128", "0"]
    assert yaml.safe_dump(grid)  # plain data
