"""Search recipes: schema, defaults, ties, and one-line errors with file, line and field path."""

from __future__ import annotations

import pytest
import yaml
from search_helpers import TINY_BASE, search_data, write_search

from tailor.engine.errors import RecipeError
from tailor.engine.recipes import dump_recipe, load_recipe, parse_recipe


def _load(workspace, text: str):
    path = workspace.recipes_dir / "s.yaml"
    path.write_text(text)
    return load_recipe(path)


def _error(workspace, text: str) -> str:
    with pytest.raises(RecipeError) as exc:
        _load(workspace, text)
    message = str(exc.value)
    assert "\n" not in message
    return message


GOOD = """\
kind: search
name: s
base: tiny-base.yaml
space:
  r: [8, 16]
  learning_rate: {low: 1e-5, high: 1e-3, log: true}
  lora_alpha: 2*r
n_trials: 4
"""


@pytest.fixture
def ws(workspace):
    write_search(workspace)  # writes tiny-base.yaml
    return workspace


def test_base_path_is_inlined_and_round_trips(ws) -> None:
    recipe = _load(ws, GOOD)
    assert recipe.base_recipe.kind == "sft"
    assert isinstance(recipe.base, dict) and recipe.base["lora"]["r"] == 8
    assert recipe.base["data"]["train"][0]["path"].startswith(str(ws.root))  # data paths made absolute
    assert recipe.study_name == "s" and recipe.direction == "minimize"
    assert recipe.space["learning_rate"].type == "float" and recipe.space["learning_rate"].low == 1e-5
    assert recipe.space["lora_alpha"].tie == "r" and recipe.space["lora_alpha"].scale == 2.0
    frozen = dump_recipe(recipe)
    again = parse_recipe(frozen, check_files=False)  # what the worker reads
    assert dump_recipe(again) == frozen


def test_inline_base_and_literature_defaults(ws) -> None:
    data = search_data(space={"r": None, "learning_rate": None, "lora_alpha": None, "lora_dropout": None})
    data["base"] = dict(TINY_BASE)
    recipe = _load(ws, yaml.safe_dump(data))
    space = recipe.space
    assert space["r"].choices == [8, 16, 32, 64, 128, 256]
    assert (space["learning_rate"].low, space["learning_rate"].high, space["learning_rate"].log) == (1e-5, 1e-3, True)
    assert space["lora_alpha"].tie == "r" and space["lora_alpha"].scale == 2.0
    assert (space["lora_dropout"].low, space["lora_dropout"].high) == (0.0, 0.1)


def test_dpo_learning_rate_default_is_far_lower(ws) -> None:
    base = {
        "kind": "dpo",
        "model": "tailor/tiny",
        "data": {"train": "../data/reverse-preference/train.jsonl", "eval": "../data/reverse-preference/eval.jsonl"},
    }
    data = search_data(space={"learning_rate": None, "beta": None})
    data["base"] = base
    recipe = _load(ws, yaml.safe_dump(data))
    lr = recipe.space["learning_rate"]
    assert lr.high <= 5e-5 and lr.low < 1e-6
    assert recipe.space["beta"].log


def test_any_train_field_and_dotted_paths(ws) -> None:
    extra = "  weight_decay: {low: 0.0, high: 0.1}\n  train.warmup_steps: [0, 5]\n  epochs: [1, 2]\n"
    text = GOOD.replace("  lora_alpha: 2*r\n", "  lora_alpha: 2*r\n" + extra)
    recipe = _load(ws, text)
    assert recipe.space["weight_decay"].type == "float"
    assert recipe.searched_names == ["r", "learning_rate", "weight_decay", "train.warmup_steps", "epochs"]


def test_timeout_durations(ws) -> None:
    recipe = _load(ws, GOOD.replace("n_trials: 4", "timeout: 1h30m"))
    assert recipe.timeout == 5400 and recipe.n_trials is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # Empty space
        ("  r: [8, 16]\n  learning_rate: {low: 1e-5, high: 1e-3, log: true}\n  lora_alpha: 2*r\n", "  lora_alpha: 16\n",
         "s.yaml:4: space: nothing to search"),
        ("space:\n  r: [8, 16]\n  learning_rate: {low: 1e-5, high: 1e-3, log: true}\n  lora_alpha: 2*r\n", "space: {}\n",
         "s.yaml:4: space: nothing to search"),
        # low > high
        ("low: 1e-5, high: 1e-3", "low: 1e-3, high: 1e-5", "s.yaml:6: space.learning_rate: low (0.001) must be less than high (1e-05)"),
        # non-positive learning-rate bounds
        ("low: 1e-5, high: 1e-3, log: true", "low: -1e-5, high: 1e-3",
         "s.yaml:6: space.learning_rate.low: -1e-05 is not valid for train.learning_rate: must be > 0"),
        ("low: 1e-5, high: 1e-3, log: true", "low: 0, high: 1e-3", "space.learning_rate.low: 0.0 is not valid for train.learning_rate"),
        ("low: 1e-5, high: 1e-3, log: true", "low: 0.0, high: 1e-3, log: true", "space.learning_rate: a log scale needs low > 0"),
        # unknown parameter names
        ("  r: [8, 16]", "  lr: [8, 16]", "s.yaml:5: space.lr: unknown parameter; did you mean 'learning_rate'?"),
        ("  r: [8, 16]", "  rnak: [8, 16]", "s.yaml:5: space.rnak: unknown parameter"),
        ("  r: [8, 16]", "  beta: [0.1, 0.2]", "space.beta: unknown parameter"),  # a DPO field, the base is sft
        # values the base recipe refuses, types
        ("  r: [8, 16]", "  r: [0, 16]", "s.yaml:5: space.r.choices: 0 is not valid for lora.r"),
        ("  r: [8, 16]", "  r: {low: 4.5, high: 16}", "space.r.low: lora.r is an integer"),
        ("  r: [8, 16]", "  r: []", "space.r.choices: choices is empty"),
        ("  r: [8, 16]", "  r: {choices: [8], low: 1, high: 2}", "space.r: give only one of"),
        ("  r: [8, 16]", "  max_grad_norm:", "space.max_grad_norm: no default range"),
        ("  r: [8, 16]", "  r: {choice: [8]}", "space.r.choice: unknown key"),
        # budget, storage, sampler, base
        ("n_trials: 4", "", "s.yaml: n_trials: a search needs an end"),
        ("n_trials: 4", "n_trials: 4\ntimeout: soon", "timeout: use seconds or a duration"),
        ("n_trials: 4", "n_trials: 4\nstorage: redis://h/0", "s.yaml:9: storage.url: unknown storage scheme 'redis'"),
        ("n_trials: 4", "n_trials: 4\nstorage: 'sqlite:///:memory:'", "storage.url: an in-memory SQLite study"),
        ("n_trials: 4", "n_trials: 4\nstorage: somewhere", "storage.url: cannot tell what storage"),
        ("n_trials: 4", "n_trials: 4\nsampler: grid", "space.learning_rate: the grid sampler needs choices or a step"),
        ("n_trials: 4", "n_trials: 4\npruner: sometimes", "pruner.type"),
        ("n_trials: 4", "n_trials: 4\ntrial_train: {max_step: 3}", "trial_train.max_step: unknown SFTConfig field; did you mean 'max_steps'?"),
        ("base: tiny-base.yaml", "base: nothere.yaml", "base: no such recipe file 'nothere.yaml'"),
        ("n_trials: 4", "n_trials: 4\nobjective: eval_loss\ndirection: sideways", "direction"),
    ],
)
def test_bad_input_is_one_line(ws, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    message = _error(ws, GOOD.replace(old, new))
    assert expected in message, message


def test_inline_base_errors_name_the_nested_field(ws) -> None:
    text = "kind: search\nbase:\n  kind: sft\n  data:\n    train: ../data/reverse/train.jsonl\n  train:\n    max_step: 3\n"
    text += "space:\n  r: [8]\nn_trials: 1\n"
    assert _error(ws, text) == f"{ws.recipes_dir / 's.yaml'}:7: base.train.max_step: unknown SFTConfig field; did you mean 'max_steps'?"
    text2 = "kind: search\nbase: {kind: eval}\nspace:\n  r: [8]\nn_trials: 1\n"
    assert "base.kind: a search wraps an sft, dpo or grpo recipe" in _error(ws, text2)


def test_eval_objective_needs_an_eval_set(ws) -> None:
    base = {k: v for k, v in TINY_BASE.items()}
    base["data"] = {"train": "../data/reverse/train.jsonl"}
    (ws.recipes_dir / "no-eval.yaml").write_text(yaml.safe_dump(base))
    message = _error(ws, GOOD.replace("tiny-base.yaml", "no-eval.yaml"))
    assert "objective: eval_loss needs an eval set" in message


def test_base_must_be_sft_or_dpo(ws) -> None:
    (ws.recipes_dir / "ev.yaml").write_text("kind: eval\ndata: ../data/reverse/eval.jsonl\n")
    assert "ev.yaml is a eval recipe; a search wraps an sft, dpo or grpo recipe" in _error(ws, GOOD.replace("tiny-base.yaml", "ev.yaml"))


def test_packaged_demo_search_recipe_validates(workspace) -> None:
    recipe = load_recipe(workspace.recipes_dir / "demo-search.yaml")
    assert recipe.study_name == "demo-search"
    assert recipe.base_recipe.kind == "sft"
    assert set(recipe.searched_names) == {"r", "learning_rate"}
