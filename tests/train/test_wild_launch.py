"""The launch refuses real public data it cannot train right: tools the chat template drops, multimodal rows;
and with data.on_invalid: skip it trains on the valid rows and says what it left out."""

from __future__ import annotations

import pytest
from train_helpers import SHORT, logs, make_run, run_worker

from tailor.engine.runs.status import RunState


def _run(workspace, train: str, **extra):
    overrides = {**SHORT, "data.train": train, "data.eval": None, "train.max_steps": 1, **extra}
    run = make_run(workspace, "demo-sft.yaml", overrides)
    return run, run_worker(run)


@pytest.mark.slow
def test_tool_data_on_a_template_without_tools_is_refused(workspace, shared_data) -> None:
    run, status = _run(workspace, str(shared_data / "llamafactory/glaive_toolcall_en_demo.json"))
    assert status.state == RunState.FAILED
    assert (
        "glaive_toolcall_en_demo.json row 1: the chat template of tailor/tiny does not render the tool "
        in (status.error)
    )
    assert not any("trainable" in m for m in logs(run))  # refused before the model is set up


@pytest.mark.slow
def test_multimodal_data_is_refused_at_launch(workspace, shared_data) -> None:
    _, status = _run(workspace, str(shared_data / "llamafactory/v1/mllm_demo.json"))
    assert status.state == RunState.FAILED
    assert status.error.endswith(
        "mllm_demo.json: this dataset is multimodal (images at row 1); Tailor trains text-only models"
    )


@pytest.mark.slow
def test_skip_trains_the_valid_rows_and_logs_the_rest(workspace, tmp_path, shared_data) -> None:
    lines = (shared_data / "llamafactory/c4_demo.jsonl").read_text().splitlines()[:20]
    data = tmp_path / "some-bad.jsonl"
    data.write_text("\n".join([*lines[:10], '{"text": ""}', '{"text": "   "}', *lines[10:]]) + "\n")
    run, status = _run(workspace, str(data), **{"data.on_invalid": "skip", "train.max_length": 64})
    assert status.state == RunState.SUCCEEDED, status.error
    notes = logs(run)
    assert any(
        "skipped 2 invalid rows (data.on_invalid: skip), e.g. some-bad.jsonl:11: field 'text' is empty" in m
        for m in notes
    ), notes
    assert any(m.startswith("data: 20 train rows") for m in notes)
