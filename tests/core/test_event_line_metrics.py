"""`tailor run -f` / `tailor logs` lines keep each kind's key metrics (DPO rewards were cut before)."""

from __future__ import annotations

from tailor.engine.runs.format import event_line

DPO_VALUES = {  # the keys of a real DPO train metric event (TRL 1.x)
    "loss": 0.69, "grad_norm": 1.2, "learning_rate": 5e-4, "entropy": 1.1, "logits/chosen": -1.0, "logits/rejected": -1.1,
    "logps/chosen": -40.0, "logps/rejected": -45.0, "num_tokens": 900.0, "rewards/accuracies": 0.75,
    "rewards/chosen": 0.02, "rewards/margins": 0.03, "rewards/rejected": -0.01, "mean_token_accuracy": 0.6,
    "samples_per_second": 1.5,
}


def test_dpo_rewards_are_always_shown() -> None:
    line = event_line({"seq": 3, "time": 0, "type": "metric", "step": 2, "split": "train", "values": DPO_VALUES})
    for key in ("loss=", "rewards/margins=", "rewards/accuracies=", "rewards/chosen=", "rewards/rejected=", "samples_per_second="):
        assert key in line, line
    assert line.index("loss=") < line.index("rewards/margins=")


def test_sft_lines_stay_short() -> None:
    values = {"loss": 1.0, "grad_norm": 1.0, "learning_rate": 1e-3, "entropy": 1.0, "mean_token_accuracy": 0.5,
              "num_tokens": 10.0, "samples_per_second": 2.0, "epoch": 1.0, "a": 1.0, "b": 2.0}
    line = event_line({"seq": 1, "time": 0, "type": "metric", "step": 1, "split": "train", "values": values})
    assert line.count("=") == 8 and "loss=1" in line


def test_key_metrics_come_from_the_kind_registry() -> None:
    """A kind's ``key_metrics`` (registry) are what metric lines keep; a plug-in kind adds its own."""
    from tailor.engine import kinds

    kinds.register(kinds.Kind("scoring", "tailor.engine.recipes.sft:SFTRecipe", "tailor.engine.train.sft:run_sft",
                              key_metrics=("zz/score",)))
    try:
        values = {f"aa_{i}": 0.1 for i in range(12)} | {"zz/score": 0.5, "loss": 1.0}
        line = event_line({"type": "metric", "split": "train", "step": 3, "values": values})
        assert "zz/score=0.5" in line and line.index("loss=") < line.index("zz/score=")
    finally:
        kinds.unregister("scoring")
    assert "zz/score" not in kinds.key_metrics()
