"""The grpo recipe: rewards (built-in and user files), train: checked against GRPOConfig, search, sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from grpo_helpers import recipe_data, write

from tailor.engine import kinds
from tailor.engine.errors import RecipeError
from tailor.engine.recipes.grpo import GRPORecipe
from tailor.engine.recipes.load import parse_recipe


def parse(ws: Any, overrides: dict[str, Any]) -> GRPORecipe:
    data = recipe_data(ws, overrides=overrides)
    recipe = parse_recipe(data, source=str(ws.recipes_dir / "demo-grpo.yaml"), base_dir=ws.recipes_dir)
    assert isinstance(recipe, GRPORecipe)
    return recipe


def refused(ws: Any, overrides: dict[str, Any]) -> str:
    with pytest.raises(RecipeError) as err:
        parse(ws, overrides)
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_the_kind_is_registered_everywhere_kinds_go() -> None:
    kind = kinds.get("grpo")
    assert kind.trl_config == "GRPOConfig"
    for group in (kinds.trainable(), kinds.chainable(), kinds.searchable(), kinds.evaluable(), kinds.model_producing()):
        assert "grpo" in group


def test_demo_recipe_and_shorthands(workspace) -> None:
    recipe = parse(workspace, {"rewards": ["exact_match", {"name": "format", "pattern": "^[a-z]+$", "weight": 0.5}]})
    assert [r.display for r in recipe.rewards] == ["exact_match", "format"]
    args = recipe.trl_args()
    assert args["reward_weights"] == [1.0, 0.5] and args["num_generations"] == 8
    assert Path(recipe.data.train[0].path).is_absolute()


def test_user_reward_file_is_resolved_against_the_recipe(workspace) -> None:
    write(workspace.recipes_dir / "my" / "rw.py", "def score(prompts, completions, **kw):\n    return [1.0] * len(completions)\n")
    recipe = parse(workspace, {"rewards": ["my/rw.py:score", {"function": "my/rw.py:score", "label": "again", "weight": 2}]})
    first, second = recipe.rewards
    assert first.path == str((workspace.recipes_dir / "my" / "rw.py").resolve()) and first.function == "score"
    assert second.display == "again" and second.weight == 2


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"rewards": []}, "rewards"),
        ({"rewards": ["exact_matc"]}, "rewards"),
        ({"rewards": [{"name": "format"}]}, "the format reward needs a regular expression"),
        ({"rewards": [{"name": "format", "pattern": "(["}]}, "not a regular expression"),
        ({"rewards": [{"name": "length"}]}, "needs max_chars"),
        ({"rewards": [{"name": "exact_match", "pattern": "x"}]}, "applies to the format reward only"),
        ({"rewards": ["exact_match", "exact_match"]}, "two rewards share a name"),
        ({"train.beta": 0.1}, "set it as the top-level `beta:`"),
        ({"train.reward_weights": [1.0]}, "each reward's `weight:`"),
        ({"train.num_generation": 4}, "did you mean 'num_generations'"),
        ({"train.learning_rat": 1e-3}, "unknown GRPOConfig field"),
        ({"num_generations": 1}, "num_generations"),
        ({"num_generations": 5}, "does not divide the batch of 64 completions"),
        ({"method": "full", "from_run_mode": "stack"}, "needs a PEFT method"),
        ({"evaluate": {"metrics": ["exact_match"]}}, "set evaluate.data to a held-out prompt/completion set"),
    ],
)
def test_bad_recipes_get_one_line(workspace, overrides: dict[str, Any], expected: str) -> None:
    assert expected in refused(workspace, overrides)


def test_reward_file_problems_before_anything_runs(workspace) -> None:
    text = refused(workspace, {"rewards": ["nope.py:score"]})
    assert "rewards[0].function: no such reward file 'nope.py'" in text
    write(workspace.recipes_dir / "rw.py", "import math\n\ndef other(prompts, completions, **kw):\n    return []\n")
    text = refused(workspace, {"rewards": ["rw.py:score"]})
    assert "defines no function 'score'" in text and "other" in text and "fix the name after the ':'" in text
    write(workspace.recipes_dir / "bad.py", "def score(:\n")
    text = refused(workspace, {"rewards": ["bad.py:score"]})
    assert text.startswith(f"{(workspace.recipes_dir / 'bad.py')}:1: reward file does not parse")
    assert "not a Python function name" in refused(workspace, {"rewards": ["rw.py:1x"]})


def test_search_tunes_beta_num_generations_learning_rate_and_r(workspace) -> None:
    search = parse_recipe(
        {"kind": "search", "base": "demo-grpo.yaml", "n_trials": 2, "objective": "reward",
         "space": {"learning_rate": {}, "beta": {}, "num_generations": {}, "r": {}}},
        source=str(workspace.recipes_dir / "s.yaml"), base_dir=workspace.recipes_dir,
    )
    space = {k: v.model_dump(exclude_none=True) for k, v in search.space.items()}
    assert space["beta"]["low"] == 0.001 and space["beta"]["high"] == 0.1
    assert space["num_generations"]["choices"] == [4, 8, 16]
    assert space["learning_rate"]["high"] == 1e-4
    assert search.direction == "maximize"


def test_reward_files_travel_with_the_data_to_ssh_hosts(workspace) -> None:
    from tailor.engine.remote.sync import data_paths

    write(workspace.recipes_dir / "rw.py", "def score(prompts, completions, **kw):\n    return [0.0] * len(completions)\n")
    recipe = parse(workspace, {"rewards": ["exact_match", "rw.py:score"]})
    dumped = recipe.model_dump(mode="json")
    paths = [p for _, p in data_paths(dumped)]
    assert str((workspace.recipes_dir / "rw.py").resolve()) in paths
    assert any(p.endswith("reverse-prompts/train.jsonl") for p in paths)
    again = GRPORecipe.model_validate(dumped)  # the frozen recipe.yaml reads back unchanged
    assert again.rewards[1].path == recipe.rewards[1].path and again.rewards[1].function == "score"


def test_samples_event_reads_in_the_log() -> None:
    from tailor.engine.runs.format import event_line

    line = event_line({"seq": 9, "time": 0, "type": "samples", "step": 5, "rows": [
        {"prompt": "Reverse: abcd", "completion": "dcba", "rewards": {"exact_match": 1.0}, "advantage": 0.9},
        {"prompt": "Reverse: abcd", "completion": "a\nb", "rewards": {"exact_match": 0.0}},
    ]})
    head, first, second = line.split("\n")
    assert head.endswith("samples step 5: 2 completions")
    assert "'Reverse: abcd' -> 'dcba'  exact_match=1 · adv 0.9" in first
    assert "'a⏎b'" in second


def test_demo_recipe_comments_every_field() -> None:
    from importlib import resources

    text = (resources.files("recipes") / "demo-grpo.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or ":" not in stripped:
            continue
        above = lines[i - 1].strip() if i else ""
        assert "#" in line or above.startswith("#"), f"demo-grpo.yaml:{i + 1}: field without a comment: {stripped}"
