"""A GRPO run with a user reward file over SSH: the file travels with the data and is frozen into the run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

REWARD = "def score(prompts, completions, answer, **kwargs):\n    return [0.5 for _ in completions]\n"


async def test_grpo_with_a_user_reward_over_ssh(ssh_ws, remote_dir: Path) -> None:
    (ssh_ws.recipes_dir / "rw").mkdir()
    (ssh_ws.recipes_dir / "rw" / "mine.py").write_text(REWARD)
    data = yaml.safe_load((ssh_ws.recipes_dir / "demo-grpo.yaml").read_text())
    data.pop("from_run")
    data["data"] = {"train": {"path": "../data/reverse-prompts/train.jsonl", "max_rows": 8}}
    data["rewards"] = ["exact_match", "rw/mine.py:score"]
    data.update(num_generations=4, samples={"every": 1, "count": 1})
    data["train"] = {"max_steps": 2, "per_device_train_batch_size": 8, "logging_steps": 1, "save_steps": 100}
    recipe = ssh_ws.recipes_dir / "grpo-remote.yaml"
    recipe.write_text(yaml.safe_dump(data))
    ex = SSHExecutor.for_host(ssh_ws, "box")
    try:
        status = await ex.launch(recipe)
        events = [e async for e in ex.follow(status.run_id)]
        final = await ex.status(status.run_id)
        assert final.state == RunState.SUCCEEDED, final.error
    finally:
        await ex.close()
    remote_run = RunDir(remote_dir / "workspace" / "runs" / status.run_id)
    frozen = yaml.safe_load(remote_run.recipe_file.read_text())["rewards"][1]
    assert "/workspace/store/" in frozen["path"] and frozen["function"] == "score"
    assert (remote_run.path / "rewards" / "1-mine.py").read_text() == REWARD
    metrics = [e["values"] for e in events if e["type"] == "metric"]
    assert metrics[-1]["rewards/score/mean"] == 0.5
    assert [e["step"] for e in events if e["type"] == "samples"] == [1, 2]
