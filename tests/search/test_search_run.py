"""Real searches on the tiny model: trials are runs, pruning, promote, SIGKILL and resume, stop, workers."""

from __future__ import annotations

import json
import os
import signal

import optuna
import pytest
import yaml
from search_helpers import cli, wait_for, wait_run_done, write_search

from tailor.engine.recipes import load_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.search.launch import preflight

pytestmark = pytest.mark.slow
COMPLETE, PRUNED, FAIL, WAITING = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
    optuna.trial.TrialState.WAITING,
)


def _study(workspace, name: str) -> optuna.Study:
    """The study read back through Optuna's own API and a plain storage URL."""
    return optuna.load_study(study_name=name, storage=f"sqlite:///{workspace.studies_db}")


def _search_runs(workspace, study: str) -> list:
    return [r for r in workspace.run_dirs() if r.read_status().kind == "search" and r.read_status().links.get("study") == study]


def test_trials_are_runs_pruning_and_promote(workspace) -> None:
    space = {"r": [4, 8], "learning_rate": {"low": 1.0e-5, "high": 1.0e-2, "log": True}, "lora_alpha": "2*r"}
    path = write_search(workspace, space=space)
    preflight(load_recipe(path), workspace.root)
    # A good trial first, then one whose learning rate is far too low: the median pruner stops it.
    for params in (["-p", "r=8", "-p", "learning_rate=0.01"], ["-p", "r=4", "-p", "learning_rate=1e-5"]):
        assert cli("search", "enqueue", "tiny-search", *params, workspace=workspace).exit_code == 0

    result = cli("search", "tiny-search", "-f", workspace=workspace)
    assert result.exit_code == 0, result.output
    assert "trial   0 complete" in result.output and "trial   1 pruned" in result.output

    study = _study(workspace, "tiny-search")
    trials = study.get_trials()
    assert [t.state for t in trials[:2]] == [COMPLETE, PRUNED] and len(trials) == 3
    assert trials[0].params == {"r": 8, "learning_rate": 0.01}
    assert sorted(trials[0].intermediate_values) == [2, 4, 6]
    assert list(trials[1].intermediate_values) == [2]  # pruned at its first report
    assert trials[1].user_attrs["steps"] == 2 and trials[0].user_attrs["steps"] == 6

    for trial in trials:  # each trial is a run directory with the run contract and its lineage
        run = workspace.run(trial.user_attrs["run_id"])
        status = run.read_status()
        assert status.kind == "sft" and status.links["study"] == "tiny-search" and status.links["trial"] == trial.number
        assert status.links["storage"] == f"sqlite:///{workspace.studies_db}"
        frozen = yaml.safe_load(run.recipe_file.read_text())
        assert frozen["lora"]["r"] == trial.params["r"] and frozen["lora"]["lora_alpha"] == 2 * trial.params["r"]
        assert frozen["train"]["learning_rate"] == pytest.approx(trial.params["learning_rate"])
        evals = [e for e in run.events() if e["type"] == "metric" and e["split"] == "eval"]
        assert [e["values"]["eval_loss"] for e in evals] == pytest.approx(list(trial.intermediate_values.values()))
    pruned = workspace.run(trials[1].user_attrs["run_id"]).read_status()
    assert pruned.state.value == "cancelled" and pruned.model_extra["trial_state"] == "pruned" and pruned.step == 2
    final = [e for e in workspace.run(pruned.run_id).events() if e["type"] == "status"][-1]
    assert final["state"] == "cancelled" and final["trial_state"] == "pruned"  # followers say "pruned" too
    assert workspace.run(trials[0].user_attrs["run_id"]).adapter_dir.is_dir()

    snap = json.loads(cli("search", "status", "tiny-search", "--json", workspace=workspace).output)
    assert snap["counts"]["complete"] + snap["counts"]["pruned"] == 3 and snap["best"]["number"] == study.best_trial.number

    # Promote the best trial: its parameters in a full training run (the base recipe's budget).
    out = cli("search", "promote", "tiny-search", workspace=workspace)
    assert out.exit_code == 0, out.output
    run_id = out.output.strip().splitlines()[-1]
    assert wait_run_done(workspace, run_id).state.value == "succeeded"
    promoted = workspace.run(run_id)
    frozen = yaml.safe_load(promoted.recipe_file.read_text())
    best = study.best_trial
    assert frozen["lora"]["r"] == best.params["r"] and frozen["train"]["learning_rate"] == pytest.approx(best.params["learning_rate"])
    assert promoted.read_status().links["promoted_from"] == {"study": "tiny-search", "trial": best.number}
    assert (workspace.recipes_dir / f"tiny-search-t{best.number}-full.yaml").exists()


def test_resume_after_sigkill_keeps_complete_trials_and_retries_the_dead_one(workspace) -> None:
    path = write_search(workspace, name="kill", n_trials=3, pruner="none", trial_train={"max_steps": 30})
    first = cli("search", str(path), workspace=workspace)
    assert first.exit_code == 0, first.output
    search = workspace.run(first.output.strip())

    def second_trial_training():
        trials = _study(workspace, "kill").get_trials()
        if len(trials) < 2 or trials[0].state != COMPLETE or trials[1].state.name != "RUNNING":
            return None
        run = workspace.run(trials[1].user_attrs["run_id"]) if trials[1].user_attrs.get("run_id") else None
        return run if run is not None and run.read_status().step >= 2 else None

    killed_run = wait_for(second_trial_training, what="trial 0 complete and trial 1 training")
    os.killpg(search.read_status().pgid, signal.SIGKILL)
    wait_for(lambda: search.effective_status().state.value == "failed", what="the killed search to show failed")

    again = cli("search", str(path), "-s", "trial_train.max_steps=6", "-f", workspace=workspace)
    assert again.exit_code == 0, again.output
    trials = _study(workspace, "kill").get_trials()
    assert [t.state for t in trials] == [COMPLETE, FAIL, COMPLETE, COMPLETE]
    assert trials[0].user_attrs["steps"] == 30  # the complete trial was kept, not re-run
    assert trials[2].system_attrs["failed_trial"] == 1 and trials[2].params == trials[1].params
    status = killed_run.read_status()
    assert status.state.value == "failed" and "died" in status.error
    assert "lost their worker" in again.output or "retried" in status.error


def test_stop_queues_the_interrupted_trial_and_start_continues(workspace) -> None:
    path = write_search(workspace, name="stopme", n_trials=1, pruner="none", trial_train={"max_steps": 400})
    run_id = cli("search", str(path), workspace=workspace).output.strip()

    def training():
        trials = _study(workspace, "stopme").get_trials()
        if not trials or not trials[0].user_attrs.get("run_id"):
            return False
        return workspace.run(trials[0].user_attrs["run_id"]).read_status().step >= 2

    wait_for(training, what="trial 0 training")
    out = cli("search", "stop", "stopme", workspace=workspace)
    assert out.exit_code == 0 and f"{run_id}: cancelled" in out.output, out.output
    trials = _study(workspace, "stopme").get_trials()
    assert [t.state for t in trials] == [FAIL, WAITING]
    assert trials[1].params == trials[0].params and trials[1].system_attrs["failed_trial"] == 0
    assert workspace.run(trials[0].user_attrs["run_id"]).read_status().state.value == "cancelled"

    again = cli("search", str(path), "-s", "trial_train.max_steps=4", "-f", workspace=workspace)
    assert again.exit_code == 0, again.output
    trials = _study(workspace, "stopme").get_trials()
    assert [t.state for t in trials] == [FAIL, COMPLETE] and trials[1].params == trials[0].params


def test_two_workers_share_a_journal_study(workspace) -> None:
    path = write_search(workspace, name="par", n_trials=2, workers=2, pruner="none", storage="journal:studies.log")
    result = cli("search", str(path), "-f", workspace=workspace)
    assert result.exit_code == 0, result.output
    runs = _search_runs(workspace, "par")
    assert len(runs) == 2
    sibling = [r for r in runs if r.read_status().links.get("role") == "worker"]
    assert len(sibling) == 1 and sibling[0].effective_status().state.value == "succeeded"

    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(workspace.root / "studies.log")))
    trials = optuna.load_study(study_name="par", storage=storage).get_trials()
    assert [t.state for t in trials] == [COMPLETE, COMPLETE]
    pids = {t.system_attrs["tailor:worker"]["pid"] for t in trials}
    assert len(pids) == 2  # one trial per worker process, coordinated by Optuna through the journal
    for t in trials:
        assert RunDir(workspace.runs_dir / t.user_attrs["run_id"]).read_status().state.value == "succeeded"


def test_a_dpo_recipe_is_searched_the_same_way(workspace) -> None:
    base = {
        "kind": "dpo",
        "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
        "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0},
        "data": {
            "train": {"path": "../data/reverse-preference/train.jsonl", "max_rows": 32},
            "eval": {"path": "../data/reverse-preference/eval.jsonl", "max_rows": 8},
        },
        "train": {"max_steps": 4, "per_device_train_batch_size": 4, "per_device_eval_batch_size": 8, "max_length": 48},
    }
    space = {"beta": [0.05, 0.5], "learning_rate": None}  # the DPO literature default range
    path = write_search(workspace, name="dpo-search", base=base, space=space, n_trials=1, pruner="none")
    result = cli("search", str(path), "-f", workspace=workspace)
    assert result.exit_code == 0, result.output
    (trial,) = _study(workspace, "dpo-search").get_trials()
    assert trial.state == COMPLETE and 5e-7 <= trial.params["learning_rate"] <= 5e-5
    frozen = yaml.safe_load(workspace.run(trial.user_attrs["run_id"]).recipe_file.read_text())
    assert frozen["kind"] == "dpo" and frozen["beta"] == trial.params["beta"]  # a top-level DPO field
    assert sorted(trial.intermediate_values) == [2, 4]


def test_timeout_ends_the_session_after_the_running_trial(workspace) -> None:
    path = write_search(workspace, name="timed", n_trials=None, timeout="1s", pruner="none", trial_train={"max_steps": 2})
    result = cli("search", str(path), "-f", workspace=workspace)
    assert result.exit_code == 0, result.output
    assert "timeout of 1s reached" in result.output
    assert [t.state for t in _study(workspace, "timed").get_trials()] == [COMPLETE]
