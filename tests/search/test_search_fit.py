"""Searches that know what fits (engine/search/fit.py): trials estimated above the memory budget are pruned
with the reason and never launched; an out-of-memory trial is recorded ``oom`` and corrects later estimates.
No training: the search below prunes every trial before it starts (a few seconds for its worker)."""

from __future__ import annotations

import json

import optuna
import pytest
import yaml
from search_helpers import cli, wait_run_done, write_search

from tailor.engine.memory_estimate import GIB
from tailor.engine.recipes import load_recipe
from tailor.engine.search import fit
from tailor.engine.search.launch import preflight

SPACE = {"per_device_train_batch_size": [4, 512], "max_length": [48, 1024, 2048], "learning_rate": 3.0e-3}


def test_trials_that_would_not_fit_are_pruned_unlaunched_and_the_pareto_front_is_shown(workspace) -> None:
    """A multi-objective study (eval_loss and peak memory) on a CPU host with a 2 GiB budget: two trials
    too big to fit are pruned without a run directory; the one that fits trains and forms the front."""
    path = write_search(workspace, space=SPACE, memory_budget="2GiB", n_trials=3, second_objective="peak_memory")
    preflight(load_recipe(path), workspace.root)
    for batch, length in ((512, 1024), (512, 2048), (4, 48)):
        params = ["-p", f"per_device_train_batch_size={batch}", "-p", f"max_length={length}"]
        assert cli("search", "enqueue", "tiny-search", *params, workspace=workspace).exit_code == 0
    result = cli("search", "tiny-search", workspace=workspace)
    assert result.exit_code == 0, result.output
    (search_run,) = workspace.run_dirs()
    assert wait_run_done(workspace, search_run.run_id).state.value == "succeeded"

    snap = json.loads(cli("search", "status", "tiny-search", "--json", workspace=workspace).output)
    rows = snap["rows"]
    assert [r["state"] for r in rows] == ["pruned", "pruned", "complete"] and [r["steps"] for r in rows] == [0, 0, 6]
    assert [r["reason"] for r in rows] == ["needs ~4.2 GiB, 2.0 GiB budget", "needs ~7.3 GiB, 2.0 GiB budget", None]
    assert {r.run_id for r in workspace.run_dirs()} == {search_run.run_id, rows[2]["run_id"]}  # none for 0 and 1
    assert rows[2]["second"] == pytest.approx(rows[2]["estimate_bytes"] / GIB, abs=1e-3)  # CPU: the estimate
    assert snap["second_objective"] == "peak_memory" and snap["pareto"] == [2] and snap["best"]["number"] == 2
    logs = [e["message"] for e in search_run.events() if e["type"] == "log"]
    assert "trial 0 pruned after 0 steps (needs ~4.2 GiB, 2.0 GiB budget)" in logs
    assert any(m.endswith("Pareto front (eval_loss vs peak_memory): trials 2") for m in logs)
    lines = cli("search", "status", "tiny-search", workspace=workspace).output.splitlines()
    assert "trial 1 pruned: needs ~7.3 GiB, 2.0 GiB budget" in lines
    assert "pareto front (eval_loss vs peak_memory, marked *): trials 2" in lines
    assert any(line.split()[:2] == ["2*", "complete"] for line in lines)


def test_the_budget_takes_sizes_and_refuses_nonsense(workspace) -> None:
    assert load_recipe(write_search(workspace, memory_budget="512MiB")).memory_budget == 512 * 1024**2
    result = cli("search", "tiny-search", "-s", "memory_budget=2 lightyears", workspace=workspace)
    assert result.exit_code == 2 and "memory_budget: " in result.output and "such as 16GiB" in result.output
    assert not any(workspace.runs_dir.iterdir())


def test_an_out_of_memory_trial_is_recorded_and_corrects_later_estimates() -> None:
    import torch

    study = optuna.create_study()
    trial = study.ask()
    error = RuntimeError("training failed")
    error.__cause__ = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert fit.is_oom(error) and not fit.is_oom(RuntimeError("shape mismatch"))
    # Estimated 10 GiB, 15.7 GiB were free, and it still ran out (a real peak of 14.9 GiB).
    message = fit.record_oom(study, trial, 10 * GIB, fit.Room(15.7 * GIB, "free"), 14.9 * GIB)
    assert message == "out of memory at a peak of 14.9 GiB (estimated ~10.0 GiB): later estimates x1.65"
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    from tailor.engine.search.study import trial_row

    row = trial_row(study.trials[0])
    assert row["state"] == "oom" and row["peak_bytes"] == pytest.approx(14.9 * GIB)
    assert fit.scale(study) == pytest.approx(1.65, abs=0.01)
    # The same configuration is now refused before it starts; a smaller one (6 GiB estimated) still runs.
    assert fit.refusal(10 * GIB * fit.scale(study), fit.Room(15.7 * GIB, "free")) == "needs ~16.5 GiB, 15.7 GiB free"
    assert fit.refusal(6 * GIB * fit.scale(study), fit.Room(15.7 * GIB, "free")) is None


async def test_the_search_screen_marks_the_pareto_front_and_says_why_a_trial_was_not_launched(workspace) -> None:
    from search_helpers import make_app, wait_until

    from tailor.engine.search.study import open_study

    study, _ = open_study(load_recipe(write_search(workspace, second_objective="wall_time")), workspace.root)
    dist = {"r": optuna.distributions.CategoricalDistribution([4, 8])}
    for values, r in (([3.4, 20.0], 4), ([3.2, 60.0], 8), ([3.7, 10.0], 4), ([3.5, 70.0], 8)):  # the last: dominated
        study.add_trial(optuna.trial.create_trial(values=values, params={"r": r}, distributions=dist,
                                                  user_attrs={"run_id": f"tiny-search-t{r}-x", "steps": 6}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, params={"r": 8}, distributions=dist,
                                              user_attrs={"reason": "needs ~21.3 GiB, 15.7 GiB free", "steps": 0}))
    app = make_app(workspace)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await wait_until(pilot, lambda: getattr(app.screen, "table", None) is not None
                                  and app.screen.table.row_count == 5 and app.screen, what="5 trial rows")
        header = str(screen.query_one("#search-header").render())
        assert "best #1 3.2" in header and "pareto ◆ #0, #1, #2" in header and "minimize wall_time" in header
        cells = [str(c) for c in screen.table.get_row("1")]
        assert cells[0] == "1 ★ ◆" and "3.2 / 60" in cells and str(screen.table.get_row("3")[0]) == "3"
        screen.table.focus()
        screen.table.move_cursor(row=screen.table.get_row_index("4"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("trial 4 was not launched: needs ~21.3 GiB, 15.7 GiB free" in str(n.message)
                                            for n in app._notifications), what="the reason")


def test_successive_halving_is_the_default_pruner(workspace) -> None:
    """The bench's winner over median (docs/search.md "Efficiency"); a multi-objective study prunes only
    before launch, so it gets no pruner at all."""
    from tailor.engine.search.study import make_pruner

    path = write_search(workspace, eval_steps=4)
    data = yaml.safe_load(path.read_text())
    del data["pruner"]
    path.write_text(yaml.safe_dump(data))
    pruner = make_pruner(load_recipe(path))
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner) and pruner._min_resource == 4
    assert isinstance(make_pruner(load_recipe(write_search(workspace, second_objective="wall_time"))),
                      optuna.pruners.NopPruner)


def test_trials_evaluate_and_first_cut_at_a_tenth_of_their_steps(workspace) -> None:
    """Without eval_steps, a trial evaluates every tenth of its max_steps and successive halving cuts first
    there (bench/search.py, three seeds); an eval cadence of the trial's own, or a fraction, wins."""
    from tailor.engine.search.space import trial_recipe_data
    from tailor.engine.search.study import make_pruner

    path = write_search(workspace, eval_steps=None, pruner="successive_halving", trial_train={"max_steps": 40})
    recipe = load_recipe(path)
    assert make_pruner(recipe)._min_resource == 4
    assert trial_recipe_data(recipe, {"r": 4}, name="t")["train"]["eval_steps"] == 4
    for own, expected in ((6, 6), (0.25, 10)):
        recipe = load_recipe(write_search(workspace, eval_steps=None, pruner="successive_halving",
                                          trial_train={"max_steps": 40, "eval_steps": own}))
        assert make_pruner(recipe)._min_resource == expected
