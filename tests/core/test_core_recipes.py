"""Recipe validation: every bad input gets one line naming file, line, field path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.engine import kinds
from tailor.engine.errors import RecipeError
from tailor.engine.recipes import dump_recipe, load_recipe, parse_recipe
from tailor.engine.recipes.overrides import load_with_overrides, parse_assignment


@pytest.fixture
def recipe_dir(tmp_path: Path) -> Path:
    (tmp_path / "train.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    return tmp_path


def write(dir_: Path, text: str) -> Path:
    path = dir_ / "r.yaml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


GOOD = "kind: sft\ndata:\n  train: train.jsonl\n"


def test_minimal_recipe_gets_defaults_and_absolute_paths(recipe_dir: Path) -> None:
    recipe = load_recipe(write(recipe_dir, GOOD))
    assert recipe.kind == "sft"
    assert recipe.method == "lora"
    assert recipe.model.name_or_path == "tailor/tiny"
    assert recipe.lora.r == 16
    assert recipe.data.train[0].path == str((recipe_dir / "train.jsonl").resolve())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: sft\nlora:\n  rank: 8\ndata: {train: train.jsonl}\n", "r.yaml:3: lora.rank: unknown key; did you mean 'r'?"),
        ("kind: sft\nlora:\n  lora_alpah: 8\ndata: {train: train.jsonl}\n", "lora.lora_alpah: unknown key; did you mean 'lora_alpha'?"),
        ("kind: sft\nlora:\n  r: 0\ndata: {train: train.jsonl}\n", "r.yaml:3: lora.r: Input should be greater than 0"),
        ("kind: sft\nlora:\n  r: -4\ndata: {train: train.jsonl}\n", "lora.r: Input should be greater than 0"),
        ("kind: sft\nlora:\n  r: big\ndata: {train: train.jsonl}\n", "lora.r: Input should be a valid integer"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  learning_rate: 0\n", "r.yaml:4: train.learning_rate: must be > 0 (got 0)"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  learning_rate: -0.1\n", "train.learning_rate: must be > 0"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  learnin_rate: 0.1\n", "train.learnin_rate: unknown SFTConfig field; did you mean 'learning_rate'?"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  lr: 0.1\n", "train.lr: unknown SFTConfig field; did you mean 'learning_rate'?"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  max_steps: many\n", "train.max_steps: must be an integer"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  packing: 3\n", "train.packing: must be true/false"),
        ("kind: sft\ndata: {train: train.jsonl}\ntrain:\n  output_dir: /tmp/x\n", "train.output_dir: is set by Tailor"),
        ("kind: sft\ndata:\n  train: nowhere.jsonl\n", "data.train[0].path: no such dataset file 'nowhere.jsonl'"),
        ("kind: sft\ndata:\n  train: [train.jsonl, missing/*.jsonl]\n", "data.train[1].path: the pattern 'missing/*.jsonl' matches no file"),
        ("kind: sft\n", "data: required field is missing"),
        ("kind: sfft\ndata: {train: train.jsonl}\n", f"r.yaml:1: kind: unknown kind 'sfft'; use one of {', '.join(kinds.names())}; did you mean 'sft'?"),
        ("data: {train: train.jsonl}\n", "kind: missing"),
        ("kind: sft\nmethod: lorax\ndata: {train: train.jsonl}\n", "r.yaml:2: method: Input should be 'lora', 'qlora'"),
        ("kind: sft\nname: 'bad name; rm -rf'\ndata: {train: train.jsonl}\n", "name: use letters, digits"),
        ("kind: sft\ndata: {train: train.jsonl, eval_split: 1.5}\n", "data.eval_split: a fraction must be between 0 and 1"),
        ("kind: sft\ndata: {train: train.jsonl}\nearly_stopping: {patience: 2}\n", "early_stopping needs an eval set"),
        ("kind: sft\ndata: [unclosed\n", "r.yaml:3: invalid YAML"),
        ("- just\n- a list\n", "a recipe must be a YAML mapping"),
    ],
)
def test_bad_recipes_get_one_line(recipe_dir: Path, text: str, expected: str) -> None:
    message = error_of(write(recipe_dir, text))
    assert expected in message, message
    assert message.startswith(str(recipe_dir / "r.yaml"))


def test_missing_recipe_file(tmp_path: Path) -> None:
    assert "no such recipe file" in error_of(tmp_path / "nope.yaml")


def test_every_trl_field_passes_through(recipe_dir: Path) -> None:
    text = GOOD + "train:\n  max_steps: 5\n  packing: true\n  lr_scheduler_type: cosine\n  max_length: 64\n  weight_decay: 0.1\n"
    recipe = load_recipe(write(recipe_dir, text))
    assert recipe.train == {
        "max_steps": 5,
        "packing": True,
        "lr_scheduler_type": "cosine",
        "max_length": 64,
        "weight_decay": 0.1,
    }


def test_hub_ids_pass_through_for_the_loader(recipe_dir: Path) -> None:
    recipe = load_recipe(write(recipe_dir, "kind: sft\ndata:\n  train: tatsu-lab/alpaca\n"))
    assert recipe.data.train[0].path == "tatsu-lab/alpaca"


def test_frozen_recipe_round_trips(recipe_dir: Path) -> None:
    recipe = load_recipe(write(recipe_dir, GOOD + "lora: {r: 8, use_dora: true}\n"))
    again = parse_recipe(dump_recipe(recipe), check_files=False)
    assert again == recipe


def test_overrides_are_validated_as_a_whole(recipe_dir: Path) -> None:
    path = write(recipe_dir, GOOD)
    recipe = load_with_overrides(path, dict([parse_assignment("lora.r=8"), parse_assignment("train.learning_rate=1e-3")]))
    assert recipe.lora.r == 8 and recipe.train["learning_rate"] == pytest.approx(1e-3)
    recipe = load_with_overrides(path, {"model": "some/other-model"})
    assert recipe.model.name_or_path == "some/other-model"
    with pytest.raises(RecipeError, match=r"\(with overrides\): lora.r: Input should be greater than 0"):
        load_with_overrides(path, {"lora.r": 0})
    with pytest.raises(RecipeError, match="expected key.path=value"):
        parse_assignment("lora.r")


def test_trl_field_snapshot_matches_installed_trl() -> None:
    """trl_fields.json must be regenerated (python -m tailor.engine.recipes.trl_fields) when TRL changes."""
    from tailor.engine.recipes.trl_fields import generate, snapshot

    fresh = generate()
    for name in ("SFTConfig", "DPOConfig", "KTOConfig", "ORPOConfig"):
        assert set(fresh[name]) == set(snapshot()[name]), name


def test_scientific_notation_is_a_number(recipe_dir: Path) -> None:
    """PyYAML alone reads 1e-3 as a string; recipes use YAML 1.2 floats."""
    recipe = load_recipe(write(recipe_dir, GOOD + "train:\n  learning_rate: 2e-4\n"))
    assert recipe.train["learning_rate"] == pytest.approx(2e-4)
