"""The packaged SFT recipes validate, and document every field they set."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from tailor.engine.recipes.load import load_recipe

MINE = {"demo-sft.yaml": ("lora", "tailor/tiny"), "qwen2.5-0.5b-lora.yaml": ("lora", "Qwen/Qwen2.5-0.5B-Instruct"),
        "llama3.1-8b-qlora.yaml": ("qlora", "meta-llama/Llama-3.1-8B-Instruct")}


def test_every_packaged_recipe_is_seeded_into_a_workspace_and_validates(workspace) -> None:
    packaged = sorted(p.name for p in resources.files("recipes").iterdir() if p.name.endswith(".yaml"))
    assert set(MINE) <= set(packaged)
    assert sorted(p.name for p in workspace.recipes()) == packaged
    for path in workspace.recipes():
        load_recipe(path)  # data paths resolve against the workspace (demo data) or are hub ids


@pytest.mark.parametrize("name", sorted(MINE))
def test_sft_recipes_use_the_intended_model_and_method(workspace, name: str) -> None:
    recipe = load_recipe(workspace.recipes_dir / name)
    assert (recipe.kind, recipe.method, recipe.model.name_or_path) == ("sft", *MINE[name])
    if name == "demo-sft.yaml":
        assert recipe.data.train[0].path == str(workspace.data_dir / "reverse" / "train.jsonl")
        assert recipe.data.eval[0].path == str(workspace.data_dir / "reverse" / "eval.jsonl")


@pytest.mark.parametrize("name", sorted(MINE))
def test_every_field_is_commented(name: str) -> None:
    text = (resources.files("recipes") / name).read_text()
    assert yaml.safe_load(text)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- ") and "#" not in stripped and ":" not in stripped:
            continue
        if ":" in stripped:
            above = lines[i - 1].strip() if i else ""
            assert "#" in line or above.startswith("#"), f"{name}:{i + 1}: field without a comment: {stripped}"
