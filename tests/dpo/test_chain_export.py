"""`tailor export RUN --merge` on a chained run keeps the chain: the SFT adapter a DPO run was trained on
top of is merged in first (the loader evaluation uses), and an export that does not reproduce the run is
refused (exit 2, nothing written)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from dpo_helpers import make_run, succeeded

from tailor.engine.runs.rundir import RunDir
from tailor.engine.workspace import Workspace

pytestmark = pytest.mark.slow
SHORT = {"train.logging_steps": 1, "train.per_device_train_batch_size": 4, "train.save_steps": 100, "data.eval": None}


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, RunDir]:
    ws = Workspace(tmp_path_factory.mktemp("chain-export") / "ws").ensure()
    sft = make_run(ws, "demo-sft.yaml", {**SHORT, "train.max_steps": 4, "lora.r": 8,
                                         "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 16}]})
    succeeded(sft)
    dpo = make_run(ws, "demo-dpo.yaml", {**SHORT, "train.max_steps": 2, "from_run": sft.run_id, "from_run_mode": "merge",
                                         "data.train": [{"path": "../data/reverse-preference/train.jsonl", "max_rows": 8}]})
    succeeded(dpo)
    return ws, dpo


def _export(ws: Workspace, run: RunDir, out: Path, *extra: str):
    from tailor.tui.cli import cli

    return CliRunner().invoke(cli, ["-w", str(ws.root), "export", run.run_id, "--merge", *extra, str(out)])


def test_merged_export_of_a_chained_run_reproduces_it(chained: tuple[Workspace, RunDir], tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from tailor.engine.export_check import compare
    from tailor.engine.train.loop import load_reference_logits

    ws, dpo = chained
    result = _export(ws, dpo, tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert "checked: the merged model reproduces the run (relative error" in result.stderr
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    reference = load_reference_logits(dpo)
    assert reference is not None
    check = compare(reference, model, "float32")
    assert check.ok and check.agreement == 1.0 and check.rel_error < 1e-4, check.describe()


def test_an_export_that_drops_the_chain_is_refused(chained: tuple[Workspace, RunDir], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import tailor.engine.eval.candidates as candidates

    ws, dpo = chained
    monkeypatch.setattr(candidates, "chain_start", lambda *a, **k: (None, []))  # the old export: base + DPO adapter only
    result = _export(ws, dpo, tmp_path / "broken")
    assert result.exit_code == 2, result.output
    assert "does not reproduce the run" in result.stderr and "nothing was written" in result.stderr
    assert not (tmp_path / "broken").exists() and not list(tmp_path.glob(".broken*"))


def test_a_bfloat16_merge_of_a_correct_run_passes(chained: tuple[Workspace, RunDir], tmp_path: Path) -> None:
    ws, dpo = chained
    result = _export(ws, dpo, tmp_path / "bf16", "--dtype", "bfloat16")
    assert result.exit_code == 0, result.output
    assert "in bfloat16" in result.stderr
