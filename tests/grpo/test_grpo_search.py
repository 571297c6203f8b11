"""A search over a grpo recipe: trials are GRPO runs, the objective is a reward (eval_reward here)."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from tailor.tui.cli import cli

BASE = {
    "kind": "grpo",
    "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
    "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0},
    "data": {"train": {"path": "../data/reverse-prompts/train.jsonl", "max_rows": 16},
             "eval": {"path": "../data/reverse-prompts/eval.jsonl", "max_rows": 4}},
    "rewards": ["exact_match"],
    "max_completion_length": 6,
    "train": {"max_steps": 2, "per_device_train_batch_size": 8, "per_device_eval_batch_size": 8,
              "logging_steps": 1, "save_steps": 100},
}


@pytest.mark.slow
def test_a_grpo_recipe_is_searched_like_the_others(workspace) -> None:
    import optuna

    (workspace.recipes_dir / "grpo-base.yaml").write_text(yaml.safe_dump(BASE))
    search = {"kind": "search", "name": "grpo-search", "base": "grpo-base.yaml", "n_trials": 1, "pruner": "none",
              "objective": "eval_reward", "eval_steps": 2,
              "space": {"learning_rate": None, "beta": None, "num_generations": {"choices": [2, 4]}, "r": [4, 8]}}
    path = workspace.recipes_dir / "grpo-search.yaml"
    path.write_text(yaml.safe_dump(search))
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "search", str(path), "-f"])
    assert result.exit_code == 0, result.output
    storage = f"sqlite:///{workspace.root / 'studies.db'}"
    (trial,) = optuna.load_study(study_name="grpo-search", storage=storage).get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None
    assert 1e-6 <= trial.params["learning_rate"] <= 1e-4 and 0.001 <= trial.params["beta"] <= 0.1
    frozen = yaml.safe_load(workspace.run(trial.user_attrs["run_id"]).recipe_file.read_text())
    assert frozen["kind"] == "grpo" and frozen["num_generations"] == trial.params["num_generations"]
    assert frozen["beta"] == trial.params["beta"] and frozen["lora"]["r"] == trial.params["r"]
