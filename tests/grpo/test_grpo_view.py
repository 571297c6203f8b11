"""What the Runs screen shows of a GRPO run: reward curves per function and the samples in the log."""

from __future__ import annotations

from tailor.engine.runs.status import RunState, Status
from tailor.tui.widgets.run_data import RunInfo

T0 = 1_800_000_000.0


def test_reward_curves_and_samples_fold_into_the_run() -> None:
    status = Status(run_id="demo-grpo-20260101-000000-a1b2", kind="grpo", state=RunState.RUNNING, started_at=T0)
    info = RunInfo(status.run_id, "local", status)
    values = {"loss": 0.0, "reward": 0.25, "reward_std": 0.4, "rewards/exact_match/mean": 0.25,
              "rewards/exact_match/std": 0.4, "rewards/mine/mean": 0.5, "kl": 0.01,
              "completions/mean_length": 5.0, "completions/clipped_ratio": 0.0}
    lines = info.apply([
        {"seq": 1, "time": T0, "type": "metric", "step": 5, "split": "train", "values": values},
        {"seq": 2, "time": T0 + 1, "type": "metric", "step": 10, "split": "train", "values": {**values, "reward": 0.5}},
        {"seq": 3, "time": T0 + 2, "type": "samples", "step": 10,
         "rows": [{"prompt": "Reverse: abcd", "completion": "dcba", "rewards": {"exact_match": 1.0}, "advantage": 1.1}]},
    ])
    assert info.rewards == {"reward": [(5, 0.25), (10, 0.5)], "rewards/exact_match/mean": [(5, 0.25), (10, 0.25)],
                            "rewards/mine/mean": [(5, 0.5), (10, 0.5)]}
    assert "reward=0.25" in lines[0]
    assert lines[2].splitlines()[1].strip() == "'Reverse: abcd' -> 'dcba'  exact_match=1 · adv 1.1"
    assert info.latest("kl") == 0.01 and info.latest("completions/clipped_ratio") == 0.0
