"""Real detached workers: SIGKILL then resume without repeating a step; cancel keeps a checkpoint."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from train_helpers import WORKER_ENV, metrics, tail, wait_terminal, wait_until, write_recipe

from tailor.engine.errors import RunError
from tailor.engine.fingerprint import FINGERPRINT_FILE, resume_notes
from tailor.engine.runs.status import RunState

FAST = {
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.warmup_steps": 0,
    "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 64}],
    "data.eval": None,
}


@pytest.fixture
def executor(workspace):
    from tailor.engine.executors.local import LocalExecutor

    return LocalExecutor(workspace, env=WORKER_ENV)


def _checkpoints(run) -> list[int]:
    return [e["step"] for e in run.events() if e["type"] == "checkpoint"]


def test_sigkill_mid_run_then_resume_completes_without_repeating_steps(workspace, executor) -> None:
    recipe = write_recipe(workspace, "killme.yaml", "demo-sft.yaml", {**FAST, "train.max_steps": 60, "train.save_steps": 10})
    status = executor.control.launch(recipe)
    run = workspace.run(status.run_id)
    wait_until(lambda: _checkpoints(run), 300, "the first checkpoint")
    live = executor.control.status(status.run_id)
    assert live.state == RunState.RUNNING, (live.error, tail(run.stderr_file))
    os.killpg(live.pgid, signal.SIGKILL)

    dead = wait_until(lambda: (s := executor.control.status(status.run_id)).state.terminal and s, 30, "the kill to show")
    assert dead.state == RunState.FAILED and "died without reporting" in dead.error
    killed_at = max(m["step"] for m in metrics(run))
    assert killed_at < 60

    executor.control.resume(status.run_id)
    final = wait_terminal(executor, status.run_id, timeout=600)
    assert final.state == RunState.SUCCEEDED, (final.error, tail(run.stderr_file))
    assert final.attempt == 1 and (final.step, final.total_steps) == (60, 60)

    events = run.events()
    seqs = [e["seq"] for e in events]
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False))
    steps = [m["step"] for m in metrics(run)]
    assert len(steps) == len(set(steps)), "a train step was logged twice"
    assert sorted(steps) == list(range(1, 61))
    resumed = [e["message"] for e in events if e["type"] == "log" and e["message"].startswith("resuming from")]
    assert len(resumed) == 1 and resumed[0].startswith("resuming from checkpoints/checkpoint-")
    assert int(resumed[0].rsplit("-", 1)[1]) <= killed_at
    assert (run.adapter_dir / "adapter_model.safetensors").exists()

    # Each checkpoint recorded what it was trained with; nothing changed, so the resume noted nothing.
    fingerprint = json.loads((run.path / resumed[0].removeprefix("resuming from ") / FINGERPRINT_FILE).read_text())
    assert fingerprint["step"] <= killed_at and fingerprint["data"]["train"][0]["rows"] == 64
    assert fingerprint["trl_args"]["max_steps"] == 60 and fingerprint["libraries"]["torch"]
    assert resume_notes(events) == []
    assert json.loads((run.adapter_dir / FINGERPRINT_FILE).read_text())["step"] == 60
    # The loss continuing the curve across a resume: tests/realmodel/test_smollm2_resume.py (SmolLM2).


def test_cancel_saves_a_checkpoint_and_ends_cancelled(workspace, executor, tmp_path: Path) -> None:
    from tailor.engine.export import export_run

    recipe = write_recipe(workspace, "cancelme.yaml", "demo-sft.yaml", {**FAST, "train.max_steps": 5000, "train.save_steps": 1000})
    status = executor.control.launch(recipe)
    run = workspace.run(status.run_id)
    wait_until(lambda: len(metrics(run)) >= 3, 300, "three train steps")
    executor.control.cancel(status.run_id)
    final = wait_terminal(executor, status.run_id, timeout=120)
    assert final.state == RunState.CANCELLED, (final.error, tail(run.stderr_file))
    assert final.error is None

    saved = _checkpoints(run)
    assert len(saved) == 1 and 3 <= saved[0] < 1000  # saved by the cancel, not by save_steps
    checkpoint = run.checkpoints_dir / f"checkpoint-{saved[0]}"
    assert (checkpoint / "trainer_state.json").exists() and (checkpoint / "adapter_model.safetensors").exists()
    assert not run.adapter_dir.exists()
    messages = [e["message"] for e in run.events() if e["type"] == "log"]
    assert any(m.startswith("cancel requested: saving a checkpoint") for m in messages)

    with pytest.raises(RunError, match="is cancelled and has no final adapter"):
        export_run(run, tmp_path / "out")
    result = export_run(run, tmp_path / "out", checkpoint="last")
    names = {p.name for p in result.path.iterdir()}
    assert "adapter_model.safetensors" in names and "optimizer.pt" not in names
