"""On a small synthetic preference set, DPO's implicit reward learns to rank chosen above rejected."""

from __future__ import annotations

from statistics import mean

import pytest
from dpo_helpers import make_run, metrics, succeeded


@pytest.mark.slow
def test_reward_accuracy_rises_well_above_chance(workspace) -> None:
    # The demo recipe with plain sigmoid DPO at a constant rate on 64 pairs of "reverse a word" (the right
    # reversal vs a plausible mistake): 60 steps of 8 pairs, i.e. several epochs, so the random-weights tiny
    # model learns to rank the pairs it trains on (about 30 s on one CPU core). The packaged recipe adds an
    # sft term and trains on all 1000 pairs once, which suits a chain from the demo SFT run
    # (tests/eval/test_demo_chain.py) but gives a random-weights model nothing to rank by. No eval set, to save time.
    plain = {"loss_type": "sigmoid", "train.lr_scheduler_type": "constant"}
    pairs = {"data.train": [{"path": "../data/reverse-preference/train.jsonl", "max_rows": 64}]}
    run = make_run(workspace, "demo-dpo.yaml", {**plain, **pairs, "data.eval": None, "train.save_steps": 1000})
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
