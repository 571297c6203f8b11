"""GRPO prompt data: the accepted row shapes, the columns rewards read, and bad rows named by file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tailor.engine.errors import DataError
from tailor.engine.recipes.grpo import GRPORecipe
from tailor.engine.train.grpo_data import load_prompt_data

USER = [{"role": "user", "content": "Reverse: abcd"}]


def recipe(tmp_path: Path, rows: list[Any], **data: Any) -> GRPORecipe:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return GRPORecipe.model_validate({"kind": "grpo", "rewards": ["exact_match"], "num_generations": 2,
                                      "data": {"train": {"path": str(path), **data.pop("src", {})}, **data}})


def test_row_shapes_become_prompt_and_answer(tmp_path: Path) -> None:
    rows = [
        {"prompt": USER, "answer": "dcba", "level": 1},
        {"prompt": USER, "completion": [{"role": "assistant", "content": " dcba "}]},
        {"messages": [*USER, {"role": "assistant", "content": "dcba"}]},
    ]
    train, evaluation = load_prompt_data(recipe(tmp_path, rows, system_prompt="Be brief."))
    assert evaluation is None and train["answer"] == ["dcba", "dcba", "dcba"]
    assert train[0]["prompt"][0] == {"role": "system", "content": "Be brief."} and train[0]["level"] == 1
    assert "completion" not in train.column_names and "messages" not in train.column_names


def test_mapped_columns_and_whole_weights(tmp_path: Path) -> None:
    rows = [{"q": "Reverse: ab", "a": "ba"}, {"q": "Reverse: cd", "a": "dc"}]
    train, _ = load_prompt_data(recipe(tmp_path, rows, src={"columns": {"prompt": "q", "answer": "a"}, "weight": 2}))
    assert train["prompt"] == ["Reverse: ab", "Reverse: cd"] * 2


@pytest.mark.parametrize(
    ("rows", "data", "expected"),
    [
        ([{"question": "x", "answer": "y"}], {}, "train.jsonl:1: no 'prompt' field (columns: question, answer)"),
        ([{"prompt": "x", "answer": "y"}, {"prompt": "z"}], {}, "train.jsonl:2: no 'answer' value, which the rewards"),
        ([{"prompt": "x", "answer": "y"}, {"prompt": USER, "answer": "y"}], {}, "train.jsonl:2: a chat prompt, but"),
        ([{"prompt": [*USER, {"role": "assistant", "content": "a"}], "answer": "y"}], {}, "ends with an assistant turn"),
        ([{"prompt": "  ", "answer": "y"}], {}, "train.jsonl:1: field 'prompt' is empty"),
        ([{"prompt": "x", "answer": "y"}], {"src": {"weight": 0.5}}, "weight 0.5: GRPO mixes prompt sources by whole"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, rows: list[Any], data: dict[str, Any], expected: str) -> None:
    with pytest.raises(DataError) as err:
        load_prompt_data(recipe(tmp_path, rows, **data))
    assert expected in str(err.value) and "\n" not in str(err.value)
