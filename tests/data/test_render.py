"""Preview = training: the row detail renders exactly what the trainers build (same token ids, same trained-on
mask), through the one function (engine.data.render.sequences) the SFT trainer's dataset is built with."""

from __future__ import annotations

import pytest
from wild_helpers import TOOL_TEMPLATE, tiny_tokenizer

from tailor.engine.data.prepare import load_training_data
from tailor.engine.data.render import LossPlan, sequences
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
    return trainer


@pytest.mark.parametrize(
    ("name", "plan"),
    [
        ("alpaca_en_demo.json", LossPlan()),  # conversational prompt-completion: the completion
        ("glaive_toolcall_en_demo.json", LossPlan()),  # messages with tool calls and a tools column
        ("glaive_toolcall_en_demo.json", LossPlan(train_on="all")),
        ("c4_demo.jsonl", LossPlan()),  # plain text
    ],
)
def test_sft_preview_matches_the_trainers_collator(lf, tiny, tmp_path, name, plan):
    """The trainer's dataset (load_training_data with the plan, then TRL's preparation and collator) trains
    exactly the tokens the preview marks, on real files."""
    # the tiny template drops tools (both the preview and training refuse such rows: test_wild_layouts)
    tok = tiny_tokenizer(TOOL_TEMPLATE) if name.startswith("glaive") else tiny[1]
    spec = DataSpec(train=[{"path": str(lf / name), "max_rows": 4}])
    raw, _ = load_training_data(spec, task="sft", seed=0)
    encoded, _ = load_training_data(spec, task="sft", seed=0, tokenizer=tok, plan=plan)
    trainer = _sft_prepared((tiny[0], tok), encoded, tmp_path)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(raw))])
    for i in range(len(raw)):
        (seq,) = sequences(raw[i], tok, plan)
        n = seq.tokens
        assert batch["input_ids"][i, :n].tolist() == seq.ids
        assert [int(x != -100) for x in batch["labels"][i, :n].tolist()] == seq.mask
        assert "".join(text for text, _ in seq.spans) == tok.decode(seq.ids)
        assert 0 < seq.trained <= seq.tokens
        if plan.train_on == "all" or name.startswith("c4"):
            assert all(seq.mask)


def test_assistant_masks_equal_trls_generation_markers(lf, tiny, tmp_path):
    """Where TRL can mask (the tiny template carries {% generation %}), its assistant_only_loss trains exactly
    the tokens Tailor's turn-by-turn masks train, on a real multi-turn file."""
    tok = tiny_tokenizer(TOOL_TEMPLATE)
    spec = DataSpec(train=[{"path": str(lf / "glaive_toolcall_en_demo.json"), "max_rows": 6}])
    raw, _ = load_training_data(spec, task="sft", seed=0)
    assert all(sum(m["role"] == "assistant" for m in row["messages"]) >= 2 for row in raw)  # multi-turn
    prepared = _sft_prepared((tiny[0], tok), raw, tmp_path, assistant_only_loss=True).train_dataset
    for i in range(len(raw)):
        (seq,) = sequences(raw[i], tok)
        assert seq.ids == prepared[i]["input_ids"]
        assert seq.mask == [int(label != -100) for label in prepared[i]["labels"]]


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
    (seq,) = sequences({"text": "x" * 50}, tok, LossPlan(max_length=10))
    assert seq.truncated and seq.tokens > 10 and seq.trained == 10  # what the trainer keeps after its cut
