"""Real DPO / IPO / KTO / ORPO steps on the tiny model, with their metrics flowing into run events."""

from __future__ import annotations

from typing import Any

import pytest
from dpo_helpers import logs, make_run, metrics, succeeded

from tailor.engine.runs.rundir import RunDir

# A few steps on a handful of rows: each run takes seconds once the libraries are imported.
SHORT: dict[str, Any] = {
    "train.max_steps": 2,
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.per_device_eval_batch_size": 4,
    "train.eval_steps": 2,
    "train.save_steps": 100,
    "data.train": [{"path": "../data/reverse-preference/train.jsonl", "max_rows": 8}],
    "data.eval": [{"path": "../data/reverse-preference/eval.jsonl", "max_rows": 4}],
}
KTO_DATA = {
    "data.train": [{"path": "../data/reverse-kto/train.jsonl", "max_rows": 8}],
    "data.eval": [{"path": "../data/reverse-kto/eval.jsonl", "max_rows": 4}],
}
# The names docs/preference.md promises the Runs screen (TRL's own, passed through unchanged).
PAIRED = {
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
}


def train_run(workspace: Any, recipe: str, **overrides: Any) -> RunDir:
    run = make_run(workspace, recipe, {**SHORT, **overrides})
    succeeded(run)
    return run


def assert_adapter(run: RunDir) -> None:
    assert (run.adapter_dir / "adapter_config.json").is_file()
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
    assert not (run.adapter_dir / "ref").exists()  # TRL's reference adapter is never part of the result


def test_dpo_step_reports_reward_metrics_in_events_and_status(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml")
    train, evals = metrics(run), metrics(run, "eval")
    assert [m["step"] for m in train] == [1, 2]
    assert set(train[-1]) >= PAIRED
    assert {f"eval_{k}" for k in PAIRED} <= set(evals[-1])
    assert 0.0 <= train[-1]["rewards/accuracies"] <= 1.0
    assert train[-1]["rewards/margins"] == pytest.approx(
        train[-1]["rewards/chosen"] - train[-1]["rewards/rejected"], abs=1e-5
    )
    status = run.read_status()
    assert set(status.latest) >= PAIRED and "eval_rewards/accuracies" in status.latest
    assert (status.step, status.total_steps) == (2, 2)
    assert "DPO loss sigmoid + sft, beta 0.1, method lora" in logs(run)  # the demo recipe's RPO-style pair
    assert not any("reference model" in line for line in logs(run))  # LoRA: the base is the reference
    assert_adapter(run)


def test_ipo_step(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml", loss_type="ipo", beta=0.5)
    assert set(metrics(run)[-1]) >= PAIRED
    assert "DPO loss ipo, beta 0.5, method lora" in logs(run)
    assert_adapter(run)


def test_combined_losses_with_weights_and_precomputed_reference(workspace) -> None:
    run = train_run(
        workspace,
        "demo-dpo.yaml",
        loss_type=["sigmoid", "sft"],
        loss_weights=[1.0, 0.5],
        precompute_ref_log_probs=True,
    )
    assert set(metrics(run)[-1]) >= PAIRED
    assert "DPO loss 1.0×sigmoid + 0.5×sft, beta 0.1, reference log-probs precomputed, method lora" in logs(
        run
    )


def test_robust_loss_with_label_smoothing(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml", loss_type="robust", label_smoothing=0.1)
    assert set(metrics(run)[-1]) >= PAIRED


def test_kto_step_on_unpaired_labelled_data(workspace) -> None:
    run = make_run(workspace, "demo-kto.yaml", {**SHORT, **KTO_DATA})
    succeeded(run)
    last = metrics(run)[-1]
    assert {"loss", "kl", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen"} <= set(
        last
    )
    assert "eval_kl" in metrics(run, "eval")[-1]
    assert "KTO loss kto, beta 0.1, method lora" in logs(run)
    assert any("unpaired preference" in line for line in logs(run))
    assert_adapter(run)


def test_kto_accepts_paired_data_split_into_labelled_rows(workspace) -> None:
    run = make_run(workspace, "demo-kto.yaml", {**SHORT, "loss_type": "apo_zero_unpaired"})
    succeeded(run)
    assert "data: 16 train rows, 8 eval rows (unpaired preference)" in logs(run)  # 8 pairs -> 16 rows


def test_orpo_step_needs_no_reference(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml", trainer="orpo", loss_type=None, beta=0.2)
    last = metrics(run)[-1]
    assert {"loss", "nll_loss", "log_odds_ratio", "rewards/accuracies", "rewards/margins"} <= set(last)
    assert "ORPO (λ=0.2, no reference model), method lora" in logs(run)
    assert_adapter(run)


def test_full_fine_tuning_keeps_a_frozen_reference_copy(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml", method="full")
    assert "reference model: a frozen copy of the starting weights" in logs(run)
    last = metrics(run)[-1]
    assert set(last) >= PAIRED
    assert (run.adapter_dir / "model.safetensors").is_file()  # a full model, not an adapter


def test_full_fine_tuning_with_an_explicit_reference_model(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml", method="full", ref_model="tailor/tiny", loss_type="hinge")
    assert "reference model: tailor/tiny" in logs(run)
    # At step 1 the policy still equals the reference, so every implicit reward starts at zero.
    first = metrics(run)[0]
    assert first["rewards/chosen"] == pytest.approx(0.0, abs=1e-6)
    assert first["rewards/rejected"] == pytest.approx(0.0, abs=1e-6)


def test_evaluate_block_runs_after_training(workspace) -> None:
    run = train_run(workspace, "demo-dpo.yaml", evaluate={"base": True})
    assert (run.eval_dir / "results.json").is_file()
    assert any(e["type"] == "artifact" and e["name"] == "eval" for e in run.events())
