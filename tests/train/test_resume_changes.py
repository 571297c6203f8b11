"""``tailor resume`` compares a checkpoint's fingerprint with what would run now (engine/fingerprint.py):
cadence passes with a note; data, template, model and training changes or a spent budget refuse with the fix
and ``--accept-changes``. Fingerprinted checkpoints without training: each test takes well under a second."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from run_helpers import checkpointed_run
from train_helpers import recipe_data

from tailor.engine.errors import ResumeRefused
from tailor.engine.fingerprint import (
    FINGERPRINT_FILE,
    check_resume,
    record_report,
    resume_changes,
    resume_notes,
)
from tailor.tui.cli import cli


@pytest.fixture
def data_copy(workspace, tmp_path):
    """The demo training file copied, so a test may change its rows."""
    path = tmp_path / "train.jsonl"
    shutil.copy(workspace.root / "data" / "reverse" / "train.jsonl", path)
    return path


def _recipe(workspace, data_copy, **overrides):
    return recipe_data(workspace, "demo-sft.yaml", {
        "data.train": [{"path": str(data_copy), "max_rows": 16}], "train.max_steps": 60, **overrides})


def _edit_recipe(run, dotted: str, value) -> None:
    data = yaml.safe_load(run.recipe_file.read_text())
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    run.recipe_file.write_text(yaml.safe_dump(data, sort_keys=False))


def test_nothing_changed_resumes_without_notes(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    report = check_resume(run)
    assert report.checkpoint == "checkpoint-2" and report.changes == []


def test_cadence_and_a_raised_budget_pass_with_notes_recorded_in_events(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    _edit_recipe(run, "train.logging_steps", 7)
    _edit_recipe(run, "train.max_steps", 90)
    report = check_resume(run)
    assert [(c.field, c.refuse) for c in report.changes] == [("train.logging_steps", False), ("train.max_steps", False)]
    record_report(run, report)
    run.requeue()  # the notes are the latest resume's: written after its queued event
    record_report(run, report)
    assert resume_notes(run.events()) == [
        "resume since checkpoint-2: note: train.logging_steps: 10 -> 7 (cadence only)",
        "resume since checkpoint-2: note: train.max_steps: 60 -> 90 (budget)",
    ]


def test_changed_rows_and_template_refuse_in_one_line_then_accepting_records_them(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    rows = data_copy.read_text().splitlines()
    rows[3] = rows[3].replace("Reverse", "Invert")  # a row the run trains on (max_rows 16)
    data_copy.write_text("\n".join(rows) + "\n")
    _edit_recipe(run, "model.chat_template", "{{ messages }}")
    with pytest.raises(ResumeRefused) as refused:
        check_resume(run)
    message = str(refused.value)
    assert message.startswith(f"run {run.run_id} changed since checkpoint-2: ")
    assert "data.train[0].rows_sha256: " in message and "the rows trained on differ" in message
    assert f"data.train[0].files.{data_copy}: " in message  # the size moved too
    assert "model.chat_template: null -> {{ messages }}" in message
    assert "model.chat_template_sha256: " in message
    assert message.endswith(f"`tailor resume {run.run_id} --accept-changes` to resume anyway (recorded in its events)")
    assert "\n" not in message
    report = check_resume(run, accept_changes=True)
    run.requeue()
    record_report(run, report)
    notes = resume_notes(run.events())
    assert notes and all(n.startswith("resume since checkpoint-2: accepted change: ") for n in notes)


def test_rows_past_max_rows_do_not_count(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    with data_copy.open("a") as f:
        f.write(json.dumps({"prompt": "x", "completion": "y"}) + "\n")
    changes = resume_changes(run).changes
    assert [c.field for c in changes] == [f"data.train[0].files.{data_copy}"]  # the size, not the rows used
    assert all(c.refuse for c in changes)


def test_a_spent_budget_refuses_because_it_would_only_evaluate(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy), step=60, epoch=3.75)
    with pytest.raises(ResumeRefused) as refused:
        check_resume(run)
    assert (f"changed since checkpoint-60: train.max_steps: budget spent: the checkpoint is at step 60 of 60, so "
            f"resuming would skip straight to evaluation. Fix: raise train.max_steps in {run.recipe_file}; or "
            f"`tailor resume {run.run_id} --accept-changes`") in str(refused.value)
    epochs = checkpointed_run(workspace, _recipe(workspace, data_copy, **{"train.max_steps": -1,
                                                                         "train.num_train_epochs": 2}),
                              step=8, epoch=2.0, max_steps=8)
    with pytest.raises(ResumeRefused, match="the checkpoint is at epoch 2 of 2, so resuming would skip"):
        check_resume(epochs)


def test_other_training_settings_refuse(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    _edit_recipe(run, "train.learning_rate", 0.5)
    (change,) = resume_changes(run).refusals
    assert str(change).startswith("train.learning_rate: ") and change.why == "changes what is learned"


def test_cli_refuses_with_exit_2_and_no_traceback(workspace, data_copy) -> None:
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    _edit_recipe(run, "lora.r", 4)
    out = subprocess.run([sys.executable, "-m", "tailor", "-w", str(workspace.root), "resume", run.run_id],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 2, out.stderr
    assert "lora.r: 16 -> 4 (changes what is learned)" in out.stderr and "Traceback" not in out.stderr
    assert run.read_status().state.value == "failed" and run.read_status().attempt == 0  # untouched


def test_a_chained_run_records_its_parent_and_refuses_when_it_changed(workspace, data_copy, tmp_path) -> None:
    parent = tmp_path / "demo-sft-parent"
    (parent / "adapter").mkdir(parents=True)
    (parent / "adapter" / FINGERPRINT_FILE).write_text(json.dumps({"step": 40, "data": {}}))
    run = checkpointed_run(workspace, _recipe(workspace, data_copy), links={"from_run_path": str(parent)})
    recorded = json.loads((run.checkpoints_dir / "checkpoint-2" / FINGERPRINT_FILE).read_text())["parent"]
    assert recorded["run"] == "demo-sft-parent" and recorded["step"] == 40
    assert resume_changes(run).changes == []
    shown = CliRunner().invoke(cli, ["-w", str(workspace.root), "resume", run.run_id, "--check"])
    assert shown.exit_code == 0 and shown.output.splitlines()[:2] == [
        f"{run.run_id}: since checkpoint-2: nothing changed",
        f"  parent: run demo-sft-parent (its final fingerprint {recorded['fingerprint_sha256'][:8]}, step 40)"]
    (parent / "adapter" / FINGERPRINT_FILE).write_text(json.dumps({"step": 80, "data": {}}))  # retrained
    (change,) = resume_changes(run).refusals
    assert change.field == "parent" and change.why == "the run this one started from changed"
    shown = CliRunner().invoke(cli, ["-w", str(workspace.root), "resume", run.run_id, "--check"])
    assert f"{run.run_id}: since checkpoint-2: 1 refused, 0 notes" in shown.output
    assert "  refused: parent: " in shown.output and run.read_status().attempt == 0  # nothing started


def test_a_corrupt_status_is_rebuilt_before_the_checks_read_it(workspace, data_copy) -> None:
    # `tailor resume` on a killed run whose status.json is garbage: rebuilt from events.jsonl first (as
    # `tailor runs --repair`), so the fingerprint check runs on the real run and refuses what changed.
    run = checkpointed_run(workspace, _recipe(workspace, data_copy))
    with run.event_writer() as events:  # what its worker said last, as the rebuild reads it
        events.emit("status", state="failed", error="the worker died without reporting")
    _edit_recipe(run, "lora.r", 4)
    run.status_file.write_bytes(b"\x00garbage{")
    assert "unreadable status: not valid JSON" in (run.status_problem() or "")  # one line, no pydantic dump
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "resume", run.run_id])
    assert out.exit_code == 2 and "lora.r: 16 -> 4 (changes what is learned)" in out.output, out.output
    assert "unreadable" not in out.output and run.status_problem() is None
