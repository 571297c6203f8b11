"""Expected failures end the run as failed with one line that says what to do (never a traceback)."""

from __future__ import annotations

import pytest
from train_helpers import SHORT, logs, make_run, run_worker

from tailor.engine.runs.status import RunState


def _failed(run) -> str:
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert "\n" not in status.error and "Traceback" not in status.error
    return status.error


def test_qlora_without_cuda_fails_before_loading_anything(workspace) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: QLoRA would run")
    run = make_run(workspace, "llama3.1-8b-qlora.yaml", {"data.train": "../data/reverse/train.jsonl", "data.eval_split": 0.1})
    error = _failed(run)
    assert error.startswith("QLoRA needs a CUDA GPU (bitsandbytes 4-bit) and this machine has none; use method: lora")
    assert not any(m.startswith("loading model") for m in logs(run))  # refused before any download or load


def test_offline_hub_model_fails_with_the_cache_message(workspace) -> None:
    name = "tailor-tests/never-downloaded-1B"
    run = make_run(workspace, "demo-sft.yaml", {**SHORT, "model.name_or_path": name})
    assert _failed(run) == (
        f"model '{name}' is not in the local Hugging Face cache and the hub is unreachable; download it on a "
        "machine with network or point model.name_or_path at a local folder"
    )


def test_an_impossible_train_combination_names_the_recipe_block(workspace) -> None:
    # load_best_model_at_end needs save_steps to be a multiple of eval_steps: TrainingArguments refuses it.
    run = make_run(workspace, "demo-sft.yaml", {**SHORT, "train.load_best_model_at_end": True, "train.save_steps": 3})
    error = _failed(run)
    assert error.startswith(f"{run.recipe_file}: train: ")
    assert "round multiple of the evaluation steps" in error
