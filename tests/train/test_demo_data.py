"""The demo data: deterministic, stdlib-only, every standard TRL format, train and eval words disjoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tailor.engine.data.demo import FORMATS, write_demo_data


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_written_atomically_and_deterministically(tmp_path: Path) -> None:
    first = write_demo_data(tmp_path / "a")
    second = write_demo_data(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert {p.parent.name for p in first if p.suffix == ".jsonl"} == set(FORMATS)
    assert not [p for p in (tmp_path / "a").rglob("*") if p.name.startswith(".")]  # no temp files left


def test_rows_are_the_reversal_task_with_disjoint_splits(tmp_path: Path) -> None:
    write_demo_data(tmp_path)
    train = _rows(tmp_path / "reverse" / "train.jsonl")
    evals = _rows(tmp_path / "reverse" / "eval.jsonl")
    assert len(train) == 1000 and len(evals) == 100

    def word(row: dict) -> str:
        return row["prompt"][0]["content"].removeprefix("Reverse: ")

    assert not {word(r) for r in train} & {word(r) for r in evals}
    for row in train[:50]:
        assert row["completion"] == [{"role": "assistant", "content": word(row)[::-1]}]
        assert len(word(row)) == 4
    messages = _rows(tmp_path / "reverse-messages" / "train.jsonl")[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert _rows(tmp_path / "reverse-text" / "train.jsonl")[0]["text"].startswith("Reverse: ")


def test_preference_variants_for_dpo_and_kto(tmp_path: Path) -> None:
    write_demo_data(tmp_path)
    for row in _rows(tmp_path / "reverse-preference" / "train.jsonl"):
        word = row["prompt"][0]["content"].removeprefix("Reverse: ")
        assert row["chosen"][0]["content"] == word[::-1]
        assert row["rejected"][0]["content"] != word[::-1] and len(row["rejected"][0]["content"]) == 4
    kto = _rows(tmp_path / "reverse-kto" / "train.jsonl")
    assert sum(r["label"] for r in kto) == len(kto) // 2
    for row in kto:
        word = row["prompt"][0]["content"].removeprefix("Reverse: ")
        assert (row["completion"][0]["content"] == word[::-1]) is row["label"]


def test_sft_formats_load_through_the_data_pipeline(tmp_path: Path) -> None:
    from tailor.engine.data.prepare import load_training_data
    from tailor.engine.recipes.common import DataSpec

    write_demo_data(tmp_path)
    expected = {"reverse": ["prompt", "completion"], "reverse-messages": ["messages"], "reverse-text": ["text"]}
    for folder, columns in expected.items():
        spec = DataSpec(train=[str(tmp_path / folder / "train.jsonl")], eval=[str(tmp_path / folder / "eval.jsonl")])
        train, evaluation = load_training_data(spec, task="sft", seed=1)
        assert sorted(train.column_names) == sorted(columns) and len(train) == 1000 and len(evaluation) == 100


def test_demo_module_is_light() -> None:
    code = "import sys, engine.data.demo; print(sorted(m for m in ('torch', 'transformers', 'datasets', 'trl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
