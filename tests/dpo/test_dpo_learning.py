"""On a small synthetic preference set, DPO's implicit reward learns to rank chosen above rejected."""

from __future__ import annotations

from statistics import mean

import pytest
from dpo_helpers import make_run, metrics, succeeded


@pytest.mark.slow
def test_reward_accuracy_rises_well_above_chance(workspace) -> None:
    # The demo recipe as packaged: 64 pairs of "reverse a word" (the right reversal vs a plausible mistake),
    # 60 steps of 8 pairs, i.e. several epochs, so the random-weights tiny model learns to rank the pairs it
    # trains on (about 30 s on one CPU core). Only the eval set is dropped, to save time.
    run = make_run(workspace, "demo-dpo.yaml", {"data.eval": None, "train.save_steps": 1000})
    succeeded(run)
    logged = metrics(run)
    accuracy = [m["rewards/accuracies"] for m in logged]
    margins = [m["rewards/margins"] for m in logged]
    assert len(logged) == 12
    assert mean(accuracy[:2]) < 0.7  # starts near chance: the policy equals the reference
    assert mean(accuracy[-3:]) >= 0.9, accuracy
    assert mean(margins[-3:]) > 0.1 > abs(margins[0]), margins
    assert logged[-1]["loss"] < logged[0]["loss"] - 0.1
    assert logged[-1]["rewards/chosen"] > logged[-1]["rewards/rejected"]
