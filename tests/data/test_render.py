"""The row detail renders exactly what TRL's trainers build: same token ids, same trained-on mask."""

from __future__ import annotations

import pytest

from tailor.engine.data.prepare import load_training_data
from tailor.engine.data.render import sequences
from tailor.engine.recipes.common import DataSpec


@pytest.fixture(scope="module")
def tiny():
    from tailor.engine.models.loading import load_model, load_tokenizer
    from tailor.engine.recipes.common import ModelSpec

    spec = ModelSpec(name_or_path="tailor/tiny")
    return load_model(spec, dtype="float32"), load_tokenizer(spec)


def _sft_prepared(tiny, dataset, tmp_path, **config):
    from trl import SFTConfig, SFTTrainer

    model, tok = tiny
    args = SFTConfig(
        output_dir=str(tmp_path),
        max_steps=1,
        report_to=[],
        max_length=None,
        bf16=False,
        use_cpu=True,
        **config,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok)
    return trainer.train_dataset


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("alpaca_en_demo.json", {}),  # conversational prompt-completion: completion-only loss
        ("glaive_toolcall_en_demo.json", {}),  # messages with tool calls and a tools column
        ("glaive_toolcall_en_demo.json", {"assistant_only_loss": True}),
        ("c4_demo.jsonl", {}),  # plain text
    ],
)
def test_sft_rendering_matches_the_trainer(lf, tiny, tmp_path, name, config):
    train, _ = load_training_data(
        DataSpec(train=[{"path": str(lf / name), "max_rows": 4}]), task="sft", seed=0
    )
    prepared = _sft_prepared(tiny, train, tmp_path, **config)
    _, tok = tiny
    for i in range(len(train)):
        (seq,) = sequences(train[i], tok, assistant_only_loss=config.get("assistant_only_loss", False))
        row = prepared[i]
        assert seq.ids == row["input_ids"]
        assert seq.mask == [int(label != -100) for label in row["labels"]]  # TRL folds its masks into labels
        assert "".join(text for text, _ in seq.spans) == tok.decode(seq.ids)
        assert 0 < seq.trained <= seq.tokens


def test_preference_rendering_matches_dpo(lf, tiny, tmp_path):
    from trl import DPOConfig, DPOTrainer

    model, tok = tiny
    train, _ = load_training_data(
        DataSpec(train=[{"path": str(lf / "dpo_en_demo.json"), "max_rows": 3}]), task="preference", seed=0
    )
    args = DPOConfig(
        output_dir=str(tmp_path), max_steps=1, report_to=[], max_length=None, bf16=False, use_cpu=True
    )
    prepared = DPOTrainer(model=model, args=args, train_dataset=train, processing_class=tok).train_dataset
    for i in range(len(train)):
        chosen, rejected = sequences(train[i], tok)
        row = prepared[i]
        n = len(row["prompt_ids"])
        assert chosen.ids == row["prompt_ids"] + row["chosen_ids"]
        assert rejected.ids == row["prompt_ids"] + row["rejected_ids"]
        assert chosen.mask == [0] * n + [1] * len(row["chosen_ids"])


def test_truncation_flag(tiny):
    _, tok = tiny
    (seq,) = sequences({"text": "x" * 50}, tok, max_length=10)
    assert seq.truncated and seq.tokens > 10
