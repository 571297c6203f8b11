"""What users read at launch: the truncation warning, and a row preview that agrees with training."""

from __future__ import annotations

import pytest

PLAIN_TEMPLATE = (  # a ChatML template without {% generation %} markers
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
ROW = {"messages": [{"role": "user", "content": "Reverse: abcd"}, {"role": "assistant", "content": "dcba"}]}


def _tokenizer(template: str | None = None):
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec

    return load_tokenizer(ModelSpec(chat_template=template))


def test_assistant_turns_found_without_generation_markers() -> None:
    from tailor.engine.data.render import LossPlan, sequences

    (marked,) = sequences(ROW, _tokenizer())  # the tiny model's template carries {% generation %} markers
    (plain,) = sequences(ROW, _tokenizer(PLAIN_TEMPLATE))  # this one does not: found turn by turn
    for seq in (marked, plain):
        assert "".join(text for text, on in seq.spans if on) == "dcba<|im_end|>"
    (whole,) = sequences(ROW, _tokenizer(PLAIN_TEMPLATE), LossPlan(train_on="all"))
    assert whole.trained == whole.tokens


def test_truncation_warning_names_the_share() -> None:
    from tailor.engine.data.render import truncation_warning

    rows = [ROW] * 10
    tok = _tokenizer()
    assert truncation_warning(rows, tok, 4096) is None
    text = truncation_warning(rows, tok, 8)
    assert text is not None and text.startswith("max_length 8 truncates 100% of the rows (10 of the first 10; longest ")


@pytest.mark.slow
def test_a_launch_with_a_short_max_length_warns(workspace) -> None:
    from run_helpers import queue_run, run_worker

    from tailor.engine.recipes.load import parse_recipe

    recipe = parse_recipe(
        {"kind": "sft", "model": {"dtype": "float32"}, "data": {"train": {"path": "../data/reverse/train.jsonl", "max_rows": 16}},
         "train": {"max_steps": 1, "per_device_train_batch_size": 4, "max_length": 36, "save_steps": 10}},
        source=str(workspace.recipes_dir / "t.yaml"), base_dir=workspace.recipes_dir,
    )
    run = queue_run(workspace, recipe)
    assert run_worker(run).state.value == "succeeded"
    warnings = [e["message"] for e in run.events() if e["type"] == "log" and e["level"] == "warning"]
    assert any(m.startswith("max_length 36 truncates 100% ") for m in warnings), warnings
