"""Preference data: every shape trains, and bad rows stop the run before the model loads, naming the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dpo_helpers import logs, make_run, metrics, run_worker, succeeded, write_jsonl

from tailor.engine.runs.status import RunState

ONE_STEP: dict[str, Any] = {
    "train.max_steps": 1,
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 2,
    "train.save_steps": 100,
    "data.eval": None,
}
GOOD = {"prompt": "Reverse: abcd", "chosen": "dcba", "rejected": "abcd"}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def train_on(workspace: Any, recipe: str, source: Any, **overrides: Any):
    run = make_run(workspace, recipe, {**ONE_STEP, "data.train": source, **overrides})
    succeeded(run)
    assert metrics(run), "no training step was logged"
    return run


# -- every preference shape -------------------------------------------------------------------------


def test_sharegpt_ranking_data_from_llamafactory(workspace, shared_data: Path) -> None:
    source = {"path": str(shared_data / "llamafactory" / "dpo_en_demo.json"), "max_rows": 4}
    run = train_on(workspace, "demo-dpo.yaml", source, **{"train.max_length": 512})
    assert "data: 4 train rows (preference)" in logs(run)


def test_kto_data_from_llamafactory(workspace, shared_data: Path) -> None:
    source = {"path": str(shared_data / "llamafactory" / "kto_en_demo.json"), "max_rows": 4}
    run = train_on(workspace, "demo-kto.yaml", source, **{"train.max_length": 512})
    assert "data: 4 train rows (unpaired preference)" in logs(run)


def test_implicit_prompt_transcripts(workspace) -> None:
    """chosen/rejected as whole conversations: the shared start becomes the prompt."""
    rows = [
        {
            "chosen": [user(f"Reverse: {w}"), assistant(w[::-1])],
            "rejected": [user(f"Reverse: {w}"), assistant(w)],
        }
        for w in ("abcd", "wxyz", "lmno", "pqrs")
    ]
    path = write_jsonl(workspace.data_dir / "transcripts.jsonl", rows)
    run = train_on(workspace, "demo-dpo.yaml", str(path))
    assert "data: 4 train rows (preference)" in logs(run)


def test_plain_text_pairs(workspace) -> None:
    rows = [{"prompt": f"Reverse: {w}\nAnswer: ", "chosen": w[::-1], "rejected": w} for w in ("abcd", "wxyz")]
    train_on(workspace, "demo-dpo.yaml", str(write_jsonl(workspace.data_dir / "text.jsonl", rows)))


def test_orpo_on_conversational_pairs(workspace) -> None:
    train_on(
        workspace,
        "demo-dpo.yaml",
        {"path": "../data/reverse-preference/train.jsonl", "max_rows": 4},
        trainer="orpo",
        loss_type=None,  # the demo recipe's [sigmoid, sft] is DPO's
    )


# -- bad data: one line naming the rows, before the model is loaded -----------------------------------


BAD_PAIRS = {
    "chosen equals rejected": (
        [
            GOOD,
            {"prompt": "Reverse: wxyz", "chosen": "zyxw", "rejected": "zyxw"},
            GOOD,
            {**GOOD, "rejected": "dcba"},
        ],
        "same.jsonl:2: chosen equals rejected (nothing to learn from this pair) (also same.jsonl:4; 2 rows in all)",
    ),
    "missing rejected": ([GOOD, {"prompt": "Reverse: wxyz", "chosen": "zyxw"}], "missing field 'rejected'"),
    "null rejected": (
        [GOOD, GOOD, {"prompt": "Reverse: wxyz", "chosen": "zyxw", "rejected": None}],
        ":3: missing field 'rejected'",
    ),
    "empty rejected": ([GOOD, {**GOOD, "rejected": ""}], ":2: 'rejected' is missing or empty"),
    "empty prompt": ([GOOD, {**GOOD, "prompt": ""}], ":2: the prompt is empty"),
    "blank prompt": ([{**GOOD, "prompt": "  \n"}, GOOD], ":1: the prompt is empty"),
    "sharegpt missing rejected": (
        [
            {
                "conversations": [{"from": "human", "value": "hi"}],
                "chosen": {"from": "gpt", "value": "a"},
                "rejected": {"from": "gpt", "value": "b"},
            },
            {"conversations": [{"from": "human", "value": "hi"}], "chosen": {"from": "gpt", "value": "a"}},
        ],
        ":2: missing field 'rejected'",
    ),
    "implicit prompt with nothing shared": (
        [
            {"chosen": [user("q"), assistant("a")], "rejected": [user("q"), assistant("b")]},
            {"chosen": [assistant("a")], "rejected": [assistant("b")]},
        ],
        ":2: the prompt is empty",
    ),
}
BAD_KTO = {
    "label is text": (
        [
            {"prompt": "p", "completion": "c", "label": True},
            {"prompt": "p", "completion": "c", "label": "yes"},
        ],
        ":2: field 'label' must be true or false, got 'yes'",
    ),
    "label is a number": (
        [{"prompt": "p", "completion": "c", "label": False}, {"prompt": "p", "completion": "c", "label": 1}],
        ":2: field 'label' must be true or false, got 1",
    ),
    "label is missing": (
        [{"prompt": "p", "completion": "c", "label": True}, {"prompt": "p", "completion": "c"}],
        ":2: missing field 'label'",
    ),
    "label in a chat row": (
        [
            {"messages": [user("q"), assistant("a")], "label": True},
            {"messages": [user("q"), assistant("a")], "label": "maybe"},
        ],
        ":2: field 'label' must be true or false, got 'maybe'",
    ),
    "empty prompt": ([{"prompt": "", "completion": "c", "label": True}], ":1: the prompt is empty"),
}


def fails_before_training(workspace: Any, recipe: str, rows: list[Any], name: str = "same") -> str:
    path = write_jsonl(workspace.data_dir / f"{name}.jsonl", rows)
    run = make_run(workspace, recipe, {"data.train": str(path), "data.eval": None})
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert not metrics(run) and not any(line.startswith("loading model") for line in logs(run))
    assert not run.adapter_dir.exists()
    error = status.error or ""
    assert error.startswith(str(path)) and "\n" not in error and "Traceback" not in error
    return error


@pytest.mark.parametrize("case", list(BAD_PAIRS))
def test_bad_pairs_are_refused_naming_the_rows(workspace, case: str) -> None:
    rows, expected = BAD_PAIRS[case]
    error = fails_before_training(workspace, "demo-dpo.yaml", rows)
    assert expected in error, error


@pytest.mark.parametrize("case", list(BAD_KTO))
def test_bad_kto_rows_are_refused_naming_the_rows(workspace, case: str) -> None:
    rows, expected = BAD_KTO[case]
    error = fails_before_training(workspace, "demo-kto.yaml", rows)
    assert expected in error, error


def test_unpaired_data_is_not_accepted_for_paired_trainers(workspace) -> None:
    rows = [{"prompt": "p", "completion": "c", "label": True}]
    path = write_jsonl(workspace.data_dir / "kto.jsonl", rows)
    run = make_run(workspace, "demo-dpo.yaml", {"data.train": str(path), "data.eval": None})
    status = run_worker(run)
    assert status.state == RunState.FAILED and "DPO needs prompt/chosen/rejected" in (status.error or "")


def test_prompts_longer_than_max_length_leave_nothing_to_train(workspace) -> None:
    rows = [{"prompt": "Reverse: " + "abcd" * 20, "chosen": "dcba", "rejected": "abcd"}] * 2
    path = write_jsonl(workspace.data_dir / "long.jsonl", rows)
    run = make_run(workspace, "demo-dpo.yaml", {**ONE_STEP, "data.train": str(path), "train.max_length": 16})
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert "every training example's prompt is longer than train.max_length (16)" in (status.error or "")


def test_kto_with_one_kind_of_label_trains_with_a_warning(workspace) -> None:
    rows = [{"prompt": f"Reverse: {w}", "completion": w[::-1], "label": True} for w in ("abcd", "wxyz")]
    run = train_on(workspace, "demo-kto.yaml", str(write_jsonl(workspace.data_dir / "good-only.jsonl", rows)))
    assert any("every KTO label is desirable (true)" in line for line in logs(run))
