"""Real public layouts convert exactly right (text and the mask TRL trains on), or are refused with the fix.

Samples are read from ../shared/data (LLaMA-Factory v1 files, Anthropic hh-rlhf); layouts with no shared
sample (OpenAI per-turn weights, UltraFeedback-binarized) use the documented example rows verbatim.
"""

from __future__ import annotations

import json

import pytest
from wild_helpers import TOOL_TEMPLATE, sft_prepared, tiny_tokenizer, trained_text

from tailor.engine.data.prepare import load_training_data
from tailor.engine.data.render import LossPlan, sequences
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSpec


@pytest.fixture(scope="module")
def model():
    from tailor.engine.models.loading import load_model
    from tailor.engine.recipes.common import ModelSpec

    return load_model(ModelSpec(name_or_path="tailor/tiny"), dtype="float32")


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def tool_tok():
    return tiny_tokenizer(TOOL_TEMPLATE)


def _load(path, task="sft", **kw):
    spec = {k: v for k, v in kw.items() if k in ("on_invalid",)}
    src = {"path": str(path), **{k: v for k, v in kw.items() if k in ("max_rows", "format")}}
    extra = {k: v for k, v in kw.items() if k in ("tokenizer", "log", "model", "plan")}
    return load_training_data(DataSpec(train=[src], **spec), task=task, seed=0, **extra)


# -- 1. content-part lists + 4. per-turn loss_weight (LLaMA-Factory v1) ---------------------------------
def test_v1_content_parts_with_loss_weight(shared_data, model, tok, tmp_path):
    train, _ = _load(shared_data / "llamafactory/v1/v1_sft_demo.jsonl", max_rows=3)
    assert train[0] == {
        "prompt": [{"role": "user", "content": "hi"}],
        "completion": [
            {
                "role": "assistant",
                "content": "Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?",
            }
        ],
    }
    prepared = sft_prepared(model, tok, train, tmp_path)
    # loss_weight 0.0 on the user turn: only the answer and its stop token are trained
    assert trained_text(tok, prepared[0]) == train[0]["completion"][0]["content"] + "<|im_end|>\n"
    assert trained_text(tok, prepared[2]).startswith("I am {{name}}")


def test_v1_dpo_chosen_rejected_messages(shared_data, tok):
    train, _ = _load(shared_data / "llamafactory/v1/v1_dpo_demo.jsonl", task="preference", max_rows=2)
    row = train[0]
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert row["prompt"][1]["content"].startswith("Abdulah Hasanagic este mândrul proprietar")
    assert row["chosen"] == [
        {
            "role": "assistant",
            "content": "Abdulah Hasanagic is the proud owner of AS Company in Gorazde, a small town located on "
            "the banks of the Drina River, near the border with Serbia, in Eastern Bosnia.",
        }
    ]
    assert row["rejected"][0]["content"].startswith(" Abdulah Hasanagic is the proud owner of AS Company, a")
    chosen, rejected = sequences(row, tok)  # the DPO rendering (checked against DPOTrainer in test_render)
    trained = tok.decode([i for i, m in zip(chosen.ids, chosen.mask, strict=True) if m])
    assert trained == row["chosen"][0]["content"] + "<|im_end|>\n"
    assert "Abdulah Hasanagic este" not in tok.decode(
        [i for i, m in zip(rejected.ids, rejected.mask, strict=True) if m]
    )


# -- 5. tools: refused by a template that drops them, shown and trained exactly by one that renders them --
def test_tool_rows_refused_when_the_template_drops_tools(shared_data, tok):
    path = shared_data / "llamafactory/v1/reason_tool_use_demo_50.jsonl"
    with pytest.raises(
        DataError,
        match=r"reason_tool_use_demo_50.jsonl:1: the chat template of tailor/tiny does "
        r"not render the tool schemas \('tools'\) \(48 rows need it\)",
    ):
        _load(path, tokenizer=tok, model="tailor/tiny")
    glaive = shared_data / "llamafactory/glaive_toolcall_en_demo.json"
    with pytest.raises(
        DataError, match=r"glaive_toolcall_en_demo.json row 1: the chat template of tailor/tiny"
    ):
        _load(glaive, tokenizer=tok, model="tailor/tiny")


def test_reasoning_and_tool_calls_with_a_template_that_renders_them(shared_data, model, tool_tok, tmp_path):
    train, _ = _load(
        shared_data / "llamafactory/v1/reason_tool_use_demo_50.jsonl", max_rows=3, tokenizer=tool_tok
    )
    row = train[2]
    call_turn = row["messages"][2]
    assert call_turn["content"] == ""
    assert call_turn["reasoning_content"].startswith("Okay, the user wants the area of a circle")
    assert call_turn["tool_calls"] == [
        {"type": "function", "function": {"name": "circle_area", "arguments": {"radius": 1.5}}},
        {"type": "function", "function": {"name": "circle_area", "arguments": {"radius": 3}}},
    ]
    assert row["messages"][3]["role"] == "tool"
    encoded, _ = _load(
        shared_data / "llamafactory/v1/reason_tool_use_demo_50.jsonl", max_rows=3, tokenizer=tool_tok, plan=LossPlan()
    )
    prepared = sft_prepared(model, tool_tok, encoded, tmp_path)  # what the SFT trainer trains
    trained = trained_text(tool_tok, prepared[2])
    assert (
        '<tool_call>circle_area {"radius": 1.5}</tool_call><tool_call>circle_area {"radius": 3}</tool_call>'
        in trained
    )
    assert "Calculate the area of a circle" not in trained  # the user turn is context
    # the row view shows the schema and the calls exactly as tokenized, and marks the same tokens
    (seq,) = sequences(row, tool_tok)
    shown = "".join(text for text, _ in seq.spans)
    assert '"name": "circle_area"' in shown and '<tool_call>circle_area {"radius": 3}</tool_call>' in shown
    assert seq.ids == prepared[2]["input_ids"]
    assert seq.mask == [int(x != -100) for x in prepared[2]["labels"]]


# -- 4. OpenAI per-turn weight (the fine-tuning guide's example row, verbatim) ---------------------------
OPENAI_WEIGHTED = {
    "messages": [
        {"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."},
        {"role": "user", "content": "What's the capital of France?"},
        {"role": "assistant", "content": "Paris", "weight": 0},
        {"role": "user", "content": "Can you be more sarcastic?"},
        {
            "role": "assistant",
            "content": "Paris, as if everyone doesn't know that already.",
            "weight": 1,
        },
    ]
}


def test_openai_weight_zero_turn_is_context(model, tok, tmp_path):
    path = tmp_path / "weighted.jsonl"
    plain = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    path.write_text(json.dumps(OPENAI_WEIGHTED) + "\n" + json.dumps(plain) + "\n")
    train, _ = _load(path)
    assert len(train) == 2
    assert [m["content"] for m in train[0]["prompt"]][-2:] == ["Paris", "Can you be more sarcastic?"]
    assert train[0]["completion"] == [
        {"role": "assistant", "content": "Paris, as if everyone doesn't know that already."}
    ]
    assert train[1]["completion"] == [{"role": "assistant", "content": "Hello"}]  # same shape, same mask
    prepared = sft_prepared(model, tok, train, tmp_path / "out")
    trained = trained_text(tok, prepared[0])
    assert trained == "Paris, as if everyone doesn't know that already.<|im_end|>\n"


def test_weights_that_cannot_be_expressed_are_refused(tmp_path):
    row = json.loads(json.dumps(OPENAI_WEIGHTED))
    row["messages"][2]["weight"] = 0.5
    path = tmp_path / "half.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"half.jsonl:1: turn 3 has weight 0.5; only 0 \(context\) and 1"):
        _load(path)


# -- 3. preference layouts ------------------------------------------------------------------------------
def test_hh_rlhf_prompt_split_at_the_shared_assistant_turn(shared_data, tok):
    notes: list[str] = []
    train, _ = _load(
        shared_data / "hh-rlhf/harmless-base-test.jsonl.gz",
        task="preference",
        on_invalid="skip",
        log=lambda text, level="info": notes.append(text),
    )
    assert len(train) == 2308  # 2,312 rows, 4 with an empty chosen answer skipped
    assert all(r["prompt"].endswith("\n\nAssistant:") for r in train)
    row = train[9]  # file line 10: both answers start with "I’m": the prompt must not take it
    assert row["chosen"].startswith(" I’m not sure w") and row["rejected"].startswith(" I’m sorry, I d")
    assert len(notes) == 1 and "skipped 4 invalid rows" in notes[0]
    assert "harmless-base-test.jsonl.gz:87: 'chosen' is missing or empty" in notes[0]
    chosen, _ = sequences(row, tok)
    trained = tok.decode([i for i, m in zip(chosen.ids, chosen.mask, strict=True) if m])
    assert (
        trained == " I<unk>m not sure what you mean. Can you clarify?<|im_end|>"
    )  # the tiny tokenizer lacks ’


def test_hh_rlhf_refused_by_default_with_the_fix(shared_data):
    with pytest.raises(
        DataError,
        match=r"harmless-base-test.jsonl.gz:87: 'chosen' is missing or empty.*"
        r"4 rows in all\); or set data.on_invalid: skip",
    ):
        _load(shared_data / "hh-rlhf/harmless-base-test.jsonl.gz", task="preference")


# the first row of HuggingFaceH4/ultrafeedback_binarized (train_prefs), shortened answers
ULTRAFEEDBACK = {
    "prompt": "how can i develop a habit of drawing daily",
    "prompt_id": "086b3e24f29b8956a01059f79c56db35d118a06fb6b844b095737d042795cd43",
    "chosen": [
        {"content": "how can i develop a habit of drawing daily", "role": "user"},
        {
            "content": "Developing a daily habit of drawing can be challenging but with consistent practice.",
            "role": "assistant",
        },
    ],
    "rejected": [
        {"content": "how can i develop a habit of drawing daily", "role": "user"},
        {
            "content": "As an AI language model, I cannot personally develop habits for you.",
            "role": "assistant",
        },
    ],
    "messages": [
        {"content": "how can i develop a habit of drawing daily", "role": "user"},
        {
            "content": "Developing a daily habit of drawing can be challenging but with consistent practice.",
            "role": "assistant",
        },
    ],
    "score_chosen": 8.5,
    "score_rejected": 8.5,
}


def test_ultrafeedback_binarized(tmp_path, tok):
    path = tmp_path / "train_prefs.jsonl"
    path.write_text(json.dumps(ULTRAFEEDBACK) + "\n")
    train, _ = _load(path, task="preference")
    row = train[0]
    assert row["prompt"] == [{"role": "user", "content": "how can i develop a habit of drawing daily"}]
    assert row["chosen"] == [ULTRAFEEDBACK["chosen"][1] | {"role": "assistant"}]
    assert row["rejected"][0]["content"].startswith("As an AI language model")
    chosen, _ = sequences(row, tok)
    trained = tok.decode([i for i, m in zip(chosen.ids, chosen.mask, strict=True) if m])
    assert trained == ULTRAFEEDBACK["chosen"][1]["content"] + "<|im_end|>\n"


# -- 2. multimodal --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "media"), [("mllm_demo.json", "images"), ("mllm_audio_demo.json", "audios")]
)
def test_multimodal_is_refused(shared_data, name, media):
    with pytest.raises(
        DataError,
        match=rf"{name}: this dataset is multimodal \({media} at row 1\); Tailor "
        r"trains text-only models",
    ):
        _load(shared_data / "llamafactory/v1" / name)


def test_image_parts_are_refused(tmp_path):
    row = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in it?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
        ]
    }
    path = tmp_path / "vision.jsonl"
    path.write_text(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                    {"role": "assistant", "content": "Hello"},
                ]
            }
        )
        + "\n"
        + json.dumps(row)
        + "\n"
    )
    with pytest.raises(DataError, match=r"multimodal \(images at row 2\)"):
        _load(path)


def test_weights_line_up_with_a_system_column():
    from tailor.engine.data.formats import convert

    row = {"system": "S", **json.loads(json.dumps(OPENAI_WEIGHTED))}
    row["messages"] = row["messages"][1:]  # the system prompt given as a column instead
    (out,) = convert(row, "messages", "sft")
    assert out["prompt"][0] == {"role": "system", "content": "S"}
    assert out["completion"][0]["content"].startswith("Paris, as if")
    assert out["prompt"][-2]["content"] == "Paris"  # the weight-0 answer is context


def test_openai_text_parts_are_joined_in_order():
    from tailor.engine.data.formats import convert

    row = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Translate: "}, {"type": "text", "text": "chat"}],
            },
            {"role": "assistant", "content": [{"type": "output_text", "text": "cat"}]},
        ]
    }
    (out,) = convert(row, "messages", "sft")
    assert out == {
        "messages": [{"role": "user", "content": "Translate: chat"}, {"role": "assistant", "content": "cat"}]
    }


def test_the_preference_launch_check_scans_only_rich_datasets(shared_data, tok):
    from tailor.engine.data.fit import refuse_unrenderable_dataset

    plain, _ = _load(shared_data / "llamafactory/dpo_en_demo.json", task="preference", max_rows=5)
    refuse_unrenderable_dataset(plain, tok, "tailor/tiny")  # role/content structs: nothing to render
    tools, _ = _load(shared_data / "llamafactory/glaive_toolcall_en_demo.json", max_rows=5)
    with pytest.raises(DataError, match=r"train row 1: the chat template of tailor/tiny does not render the tool"):
        refuse_unrenderable_dataset(tools, tok, "tailor/tiny")
