"""Format detection and conversion to TRL's standard formats, on ../shared/data and on small rows."""

from __future__ import annotations

import json

import pytest
from data_helpers import write_jsonl

from tailor.engine.data.formats import convert, detect
from tailor.engine.data.prepare import read_source
from tailor.engine.data.turns import RowIssue
from tailor.engine.recipes.common import DataSource

SHARED = [
    # file, documented format, task, TRL columns after conversion
    ("alpaca_en_demo.json", "alpaca", "sft", {"prompt", "completion"}),
    ("identity.json", "alpaca", "sft", {"prompt", "completion"}),
    ("dpo_en_demo.json", "preference", "preference", {"prompt", "chosen", "rejected"}),
    ("kto_en_demo.json", "unpaired_preference", "unpaired_preference", {"prompt", "completion", "label"}),
    ("glaive_toolcall_en_demo.json", "sharegpt", "sft", {"messages", "tools"}),
    ("c4_demo.jsonl", "text", "sft", {"text"}),
]


@pytest.mark.parametrize(("name", "fmt", "task", "columns"), SHARED)
def test_shared_datasets_open_detect_and_convert(lf, name, fmt, task, columns):
    part = read_source(DataSource(path=str(lf / name)), task=task)
    assert part.format == fmt
    assert not part.problems, part.problems[:3]
    expected = {"alpaca_en_demo.json": 999, "identity.json": 91}.get(name, 300)
    assert len(part.rows) == expected
    assert set(part.rows[0]) <= columns and columns - {"tools"} <= set(part.rows[0])


def test_alpaca_identity_keeps_placeholders_and_builds_chat_turns(lf):
    rows = read_source(DataSource(path=str(lf / "identity.json")), task="sft").rows
    first = rows[0]
    assert first["prompt"] == [{"role": "user", "content": "hi"}]
    assert "{{name}}" in first["completion"][0]["content"] and first["completion"][0]["role"] == "assistant"


def test_sharegpt_preference_objects_become_conversational_pairs(lf):
    rows = read_source(DataSource(path=str(lf / "dpo_en_demo.json")), task="preference").rows
    row = rows[0]
    assert row["prompt"][-1]["role"] == "user"
    assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
    assert row["chosen"] != row["rejected"]
    # system turns in the conversation stay in the prompt
    assert any(r["prompt"][0]["role"] == "system" for r in rows)


def test_glaive_tool_turns_become_tool_calls_and_tool_messages(lf):
    rows = read_source(DataSource(path=str(lf / "glaive_toolcall_en_demo.json")), task="sft").rows
    row = next(r for r in rows if any(m.get("tool_calls") for m in r["messages"]))
    call = next(m for m in row["messages"] if m.get("tool_calls"))
    assert call["role"] == "assistant"
    function = call["tool_calls"][0]["function"]
    assert function["name"] and isinstance(function["arguments"], dict)
    assert any(m["role"] == "tool" for m in row["messages"])
    assert isinstance(json.loads(row["tools"]), list)


def test_kto_messages_split_into_prompt_and_last_assistant_turn(lf):
    rows = read_source(DataSource(path=str(lf / "kto_en_demo.json")), task="unpaired_preference").rows
    assert all(isinstance(r["label"], bool) for r in rows)
    long = next(r for r in rows if len(r["prompt"]) > 1)
    assert long["completion"][0]["role"] == "assistant" and long["prompt"][-1]["role"] == "user"


def test_preference_pairs_unpair_for_kto(lf):
    rows = read_source(DataSource(path=str(lf / "dpo_en_demo.json")), task="unpaired_preference").rows
    assert len(rows) == 600
    assert [r["label"] for r in rows[:2]] == [True, False]


@pytest.mark.parametrize(
    ("row", "fmt"),
    [
        ({"instruction": "a", "input": "", "output": "b"}, "alpaca"),
        ({"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}, "sharegpt"),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}, "messages"),
        ({"prompt": "a", "completion": "b"}, "prompt_completion"),
        ({"text": "a"}, "text"),
        ({"prompt": "a", "chosen": "b", "rejected": "c"}, "preference"),
        (
            {"chosen": [{"role": "user", "content": "a"}], "rejected": [{"role": "user", "content": "a"}]},
            "preference",
        ),
        ({"prompt": "a", "completion": "b", "label": True}, "unpaired_preference"),
        ({"messages": [{"role": "user", "content": "a"}], "label": False}, "unpaired_preference"),
        ({"question": "a", "answer": "b"}, None),
    ],
)
def test_detect(row, fmt):
    assert detect([row]) == fmt


def test_alpaca_with_system_and_history():
    row = {
        "instruction": "q2",
        "input": "ctx",
        "output": "a2",
        "system": "be brief",
        "history": [["q1", "a1"]],
    }
    (out,) = convert(row, "alpaca", "sft")
    assert [m["role"] for m in out["prompt"]] == ["system", "user", "assistant", "user"]
    assert out["prompt"][-1]["content"] == "q2\nctx"
    assert out["completion"] == [{"role": "assistant", "content": "a2"}]


def test_sharegpt_with_system_column_and_recipe_system_prompt():
    row = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "system": "S"}
    assert convert(row, "sharegpt", "sft", system="R")[0]["messages"][0] == {"role": "system", "content": "S"}
    del row["system"]
    assert convert(row, "sharegpt", "sft", system="R")[0]["messages"][0] == {"role": "system", "content": "R"}


def test_string_prompt_completion_and_system_prompt():
    assert convert({"prompt": "p", "completion": "c"}, "prompt_completion", "sft", system="S") == [
        {"prompt": "S\n\np", "completion": "c"}
    ]


def test_implicit_prompt_is_extracted_from_shared_turns():
    user = {"role": "user", "content": "q"}
    row = {
        "chosen": [user, {"role": "assistant", "content": "good"}],
        "rejected": [user, {"role": "assistant", "content": "bad"}],
    }
    (out,) = convert(row, "preference", "preference")
    assert out["prompt"] == [user]
    assert out["chosen"] == [{"role": "assistant", "content": "good"}]


def test_implicit_prompt_from_strings():
    (out,) = convert(
        {"chosen": "\n\nHuman: sky?\n\nAssistant: It is blue", "rejected": "\n\nHuman: sky?\n\nAssistant: It is green"},
        "preference",
        "preference",
    )
    # cut after the shared assistant marker, never inside the answers' shared first words
    assert out == {"prompt": "\n\nHuman: sky?\n\nAssistant:", "chosen": " It is blue", "rejected": " It is green"}


def test_implicit_prompt_without_an_assistant_marker_is_refused():
    with pytest.raises(RowIssue, match="share no assistant turn"):
        convert({"chosen": "Q: sky? A: blue", "rejected": "Q: sky? A: green"}, "preference", "preference")


def test_explicit_prompt_with_string_answers_stays_text():
    (out,) = convert({"prompt": "p", "chosen": "a", "rejected": "b"}, "preference", "preference")
    assert out == {"prompt": "p", "chosen": "a", "rejected": "b"}


def test_sharegpt_chosen_as_a_list_of_turns():
    row = {
        "conversations": [{"from": "human", "value": "q"}],
        "chosen": [{"from": "gpt", "value": "a"}],
        "rejected": {"from": "gpt", "value": "b"},
    }
    (out,) = convert(row, "preference", "preference")
    assert out["chosen"] == [{"role": "assistant", "content": "a"}]
    assert out["rejected"] == [{"role": "assistant", "content": "b"}]


def test_recipe_format_and_columns_override_detection(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"question": f"q{i}", "answer": f"a{i}"} for i in range(3)])
    part = read_source(
        DataSource(
            path=str(path), format="prompt_completion", columns={"prompt": "question", "completion": "answer"}
        ),
        task="sft",
    )
    assert part.rows[0] == {"prompt": "q0", "completion": "a0"}


def test_wrong_task_is_refused_with_a_hint():
    with pytest.raises(RowIssue, match="kind: dpo"):
        convert({"prompt": "a", "chosen": "b", "rejected": "c"}, "preference", "sft")


@pytest.mark.parametrize(
    ("row", "fmt", "message"),
    [
        ({"instruction": "", "output": "x"}, "alpaca", "field 'instruction' is empty"),
        ({"instruction": "a"}, "alpaca", "missing field 'output'"),
        ({"instruction": "a", "output": 3}, "alpaca", "'output' must be a string, got a number"),
        ({"conversations": [{"from": "alien", "value": "x"}]}, "sharegpt", "unknown speaker 'alien'"),
        ({"conversations": [{"from": "function_call", "value": "{oops"}]}, "sharegpt", "not valid JSON"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages", "'content' must be a string"),
        (
            {"prompt": "a", "completion": "b", "label": "maybe"},
            "unpaired_preference",
            "must be true or false",
        ),
    ],
)
def test_bad_rows_say_what_is_wrong(row, fmt, message):
    task = "unpaired_preference" if fmt == "unpaired_preference" else "sft"
    with pytest.raises(RowIssue, match=message):
        convert(row, fmt, task)
