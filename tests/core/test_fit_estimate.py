"""The fit estimate reads what training does: checkpointing as the worker applies it, real model shapes
(config.json, or the table of known architectures), and says when the shape is guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.memory_estimate import GIB, checkpointing, estimate, estimate_recipe, model_shape
from engine.recipes.load import load_recipe, parse_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_8b_qlora_r16_seq2048_batch1_with_checkpointing_is_8_to_12_gb() -> None:
    shape = model_shape("meta-llama/Llama-3.1-8B-Instruct")
    assert shape is not None and not shape.guessed and shape.vocab == 128256
    assert 7.9e9 < shape.params < 8.1e9  # the published 8.03B
    fit = estimate(shape, model="llama", method="qlora", dtype="bfloat16", batch=1, seq=2048, gradient_checkpointing=True, lora_r=16)
    assert fit.total is not None and 8e9 <= fit.total <= 12e9, fit.describe()


def test_shipped_gpu_recipes_are_estimated_with_their_checkpointing() -> None:
    llama = estimate_recipe(load_recipe(RECIPES / "llama3.1-8b-qlora.yaml"))
    qwen = estimate_recipe(load_recipe(RECIPES / "qwen2.5-0.5b-lora.yaml"))
    assert llama.total is not None and llama.total / GIB < 14, llama.describe()
    assert qwen.total is not None and qwen.total / GIB < 9, qwen.describe()  # its header: ~8 GB
    assert "guessed" not in llama.describe() + qwen.describe()


@pytest.mark.parametrize(
    ("train", "expected"),
    [({}, True), ({"activation_checkpointing": False}, False), ({"gradient_checkpointing": False}, False),
     ({"gradient_checkpointing": True}, True)],
)
def test_checkpointing_is_read_under_both_names_and_on_by_default(train: dict, expected: bool) -> None:
    assert checkpointing(train) is expected


def test_turning_checkpointing_off_costs_memory() -> None:
    base = {"kind": "sft", "model": "Qwen/Qwen2.5-0.5B-Instruct", "data": {"train": "x.jsonl"},
            "train": {"per_device_train_batch_size": 8, "max_length": 2048}}
    on = estimate_recipe(parse_recipe(base, check_files=False))
    off = estimate_recipe(parse_recipe({**base, "train": {**base["train"], "activation_checkpointing": False}}, check_files=False))
    assert on.total is not None and off.total is not None and off.total > 2 * on.total


def test_a_shape_from_the_name_alone_says_guessed() -> None:
    fit = estimate(model_shape("someone/Mystery-7B"), model="someone/Mystery-7B", method="lora")
    assert "guessed from the size in its name '7B'" in fit.describe()


def test_a_gguf_file_uses_its_converted_config(tmp_path: Path) -> None:
    from engine.models.gguf import converted_dir

    gguf = tmp_path / "m.Q4.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    folder = converted_dir(gguf)
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 576, "num_hidden_layers": 30, "vocab_size": 49152, '
                                        '"intermediate_size": 1536, "num_attention_heads": 9, "num_key_value_heads": 3}')
    shape = model_shape(str(gguf))
    assert shape is not None and shape.vocab == 49152 and shape.source == str(folder / "config.json")
