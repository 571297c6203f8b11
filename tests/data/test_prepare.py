"""load_training_data: TRL columns per task, mixing with weights and a seed, eval sets, refusals."""

from __future__ import annotations

import pytest
from data_helpers import write_jsonl

from tailor.engine.data.checks import check_row
from tailor.engine.data.prepare import load_training_data, validate_training_data
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSpec


def rows(prefix: str, n: int) -> list[dict]:
    return [{"prompt": f"{prefix}{i}", "completion": f"c{i}"} for i in range(n)]


def test_shared_datasets_load_for_their_task(lf):
    cases = [
        ("alpaca_en_demo.json", "sft", ["prompt", "completion"]),
        ("glaive_toolcall_en_demo.json", "sft", ["messages", "tools"]),
        ("c4_demo.jsonl", "sft", ["text"]),
        ("dpo_en_demo.json", "preference", ["prompt", "chosen", "rejected"]),
        ("kto_en_demo.json", "unpaired_preference", ["prompt", "completion", "label"]),
    ]
    for name, task, columns in cases:
        train, ev = load_training_data(DataSpec(train=[str(lf / name)]), task=task, seed=0)
        assert sorted(train.column_names) == sorted(columns), name
        assert ev is None
    train, _ = load_training_data(
        DataSpec(train=[str(lf / "glaive_toolcall_en_demo.json")]), task="sft", seed=0
    )
    # tool-call messages keep exactly their own keys (JSON feature), no null padding
    msgs = train[0]["messages"]
    assert all(set(m) <= {"role", "content", "tool_calls"} for m in msgs)
    assert all("tool_calls" not in m or m["tool_calls"] for m in msgs)


def test_mixing_interleaves_with_weights_and_seed(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", rows("a", 400))
    b = write_jsonl(tmp_path / "b.jsonl", rows("b", 400))
    spec = DataSpec(train=[{"path": str(a), "weight": 3}, {"path": str(b), "weight": 1}])
    train, _ = load_training_data(spec, task="sft", seed=7)
    prompts = train["prompt"]
    head = prompts[:100]
    assert any(p.startswith("b") for p in head) and any(p.startswith("a") for p in head)  # interleaved
    share = sum(p.startswith("a") for p in prompts) / len(prompts)
    assert 0.65 < share < 0.85  # about 3:1
    again, _ = load_training_data(spec, task="sft", seed=7)
    assert again["prompt"] == prompts
    other, _ = load_training_data(spec, task="sft", seed=8)
    assert other["prompt"] != prompts
    # data.seed, when the recipe sets it, wins over the recipe's seed
    fixed = DataSpec(train=spec.train, seed=7)
    assert load_training_data(fixed, task="sft", seed=123)[0]["prompt"] == prompts


def test_eval_split_fraction_and_count_are_seeded(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", rows("p", 100))
    train, ev = load_training_data(DataSpec(train=[str(path)], eval_split=0.2), task="sft", seed=1)
    assert (len(train), len(ev)) == (80, 20)
    assert not set(train["prompt"]) & set(ev["prompt"])
    train2, ev2 = load_training_data(DataSpec(train=[str(path)], eval_split=0.2), task="sft", seed=1)
    assert ev2["prompt"] == ev["prompt"]
    _, ev3 = load_training_data(DataSpec(train=[str(path)], eval_split=7), task="sft", seed=1)
    assert len(ev3) == 7
    with pytest.raises(DataError, match="takes all 100 rows"):
        load_training_data(DataSpec(train=[str(path)], eval_split=100), task="sft", seed=1)


def test_eval_sources_and_conflicts(tmp_path):
    tr = write_jsonl(tmp_path / "train.jsonl", rows("t", 10))
    ev = write_jsonl(tmp_path / "eval.jsonl", rows("e", 3))
    train, evaluation = load_training_data(DataSpec(train=[str(tr)], eval=[str(ev)]), task="sft", seed=0)
    assert len(train) == 10 and evaluation["prompt"] == ["e0", "e1", "e2"]
    with pytest.raises(DataError, match="set either eval or eval_split"):
        load_training_data(DataSpec(train=[str(tr)], eval=[str(ev)], eval_split=0.5), task="sft", seed=0)
    text = write_jsonl(tmp_path / "text.jsonl", [{"text": "x"}])
    with pytest.raises(DataError, match="must convert to the same shape"):
        load_training_data(DataSpec(train=[str(tr), str(text)]), task="sft", seed=0)


def test_system_prompt_and_max_rows(tmp_path):
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}] * 5,
    )
    spec = DataSpec(train=[{"path": str(path), "max_rows": 2}], system_prompt="Be brief.")
    train, _ = load_training_data(spec, task="sft", seed=0)
    assert len(train) == 2
    assert train[0]["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize(
    ("row", "task", "message"),
    [
        ({"prompt": "p", "chosen": "same", "rejected": "same"}, "preference", "chosen equals rejected"),
        ({"prompt": "p", "chosen": "a", "rejected": ""}, "preference", "'rejected' is missing or empty"),
        ({"prompt": " ", "chosen": "a", "rejected": "b"}, "preference", "the prompt is empty"),
        (
            {"prompt": "p", "completion": "a", "label": 1},
            "unpaired_preference",
            "label must be true or false",
        ),
        ({"prompt": "", "completion": "a", "label": True}, "unpaired_preference", "the prompt is empty"),
        ({"messages": [{"role": "user", "content": "q"}]}, "sft", "no assistant turn"),
        ({"text": "  "}, "sft", "the text is empty"),
    ],
)
def test_check_row(row, task, message):
    assert message in check_row(row, task)


def test_preference_refusals_name_the_rows(tmp_path):
    good = {"prompt": "p", "chosen": "a", "rejected": "b"}
    path = write_jsonl(
        tmp_path / "d.jsonl", [good, {**good, "rejected": "a"}, good, {"prompt": "p", "chosen": "a"}]
    )
    with pytest.raises(DataError) as err:
        validate_training_data(DataSpec(train=[str(path)]), task="preference")
    assert str(err.value).startswith(f"{path}:2: chosen equals rejected")
    assert "also d.jsonl:4" in str(err.value)
    kto = write_jsonl(tmp_path / "k.jsonl", [{"prompt": "p", "completion": "c", "label": "yes"}])
    with pytest.raises(DataError, match=r"k.jsonl:1: field 'label' must be true or false, got 'yes'"):
        validate_training_data(DataSpec(train=[str(kto)]), task="unpaired_preference")


def test_csv_labels_read_as_booleans(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("prompt,completion,label\np,c,true\nq,d,False\n")
    train, _ = load_training_data(DataSpec(train=[str(path)]), task="unpaired_preference", seed=0)
    assert train["label"] == [True, False]
