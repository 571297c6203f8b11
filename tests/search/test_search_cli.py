"""`tailor search` without training: bad input stops before anything starts; study commands."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from search_helpers import cli, write_search

from tailor.engine.recipes import load_recipe
from tailor.engine.search.launch import preflight


def _no_runs(workspace) -> bool:
    return not any(workspace.runs_dir.iterdir())


# With psycopg (the test extra) the server is unreachable; without it, the driver is missing.
PG_FAILS = "cannot open" if importlib.util.find_spec("psycopg") else "the database driver for postgresql is not installed"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-s", "space.learning_rate.low=-1"], "space.learning_rate: a log scale needs low > 0 (got -1)"),
        (["-s", "space.learning_rate={low: -1, high: 1}"], "space.learning_rate.low: -1.0 is not valid for train.learning_rate"),
        (["-s", "space.learning_rate.low=0.5"], "space.learning_rate: low (0.5) must be less than high (0.01)"),
        (["-s", "space={}"], "space: nothing to search"),
        (["-s", "space.lr=[1]"], "space.lr: unknown parameter; did you mean 'learning_rate'?"),
        (["-s", "storage=mysql://tailor@db.invalid/studies"], "the database driver for mysql is not installed"),
        (["-s", "storage=postgresql://tailor@db.invalid/studies"], f"storage postgresql://tailor@db.invalid/studies: {PG_FAILS}"),
        (["-s", "storage=sqlite:////nonexistent-tailor-dir/s.db"], "no such folder /nonexistent-tailor-dir"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_bad_input_stops_before_anything_starts(workspace, args: list[str], expected: str) -> None:
    path = write_search(workspace)
    result = cli("search", str(path), *args, workspace=workspace)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert expected in lines[0]
    assert _no_runs(workspace)


def test_not_a_search_recipe(workspace) -> None:
    result = cli("search", "demo-sft", workspace=workspace)
    assert result.exit_code == 2 and "kind is sft; `tailor search` takes a kind: search recipe" in result.output
    assert _no_runs(workspace)


def test_study_commands_on_a_fresh_study(workspace) -> None:
    assert "no studies yet" in cli("search", "ls", workspace=workspace).output
    recipe = load_recipe(write_search(workspace))
    url = preflight(recipe, workspace.root)  # creates the study, as `tailor search RECIPE` does before launching
    assert url == f"sqlite:///{workspace.studies_db}"
    assert "tiny-search" in cli("search", "ls", workspace=workspace).output

    out = cli("search", "enqueue", "tiny-search", "-p", "r=8", "-p", "learning_rate=0.005", workspace=workspace)
    assert out.exit_code == 0, out.output
    study = optuna.load_study(study_name="tiny-search", storage=url)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [{"r": 8, "learning_rate": 0.005}]

    for params, expected in (
        (["-p", "r=12"], "r=12 is not one of the choices [4, 8]"),
        (["-p", "learning_rate=0.5"], "learning_rate=0.5 is outside the range 0.001..0.01"),
        (["-p", "lora_alpha=3"], "parameter 'lora_alpha' is not searched in this study (searched: r, learning_rate)"),
        ([], "give at least one parameter"),
    ):
        bad = cli("search", "enqueue", "tiny-search", *params, workspace=workspace)
        assert bad.exit_code == 2 and expected in bad.output, bad.output

    status = cli("search", "status", "tiny-search", workspace=workspace)
    assert "0 finished" in status.output and "1 queued" in status.output
    assert "waiting" in status.output and "0.005" in status.output  # the queued trial's parameters
    assert "no complete trial yet" in cli("search", "promote", "tiny-search", workspace=workspace).output
    assert "no running search for study" in cli("search", "stop", "tiny-search", workspace=workspace).output
    assert "--sort 'bogus'" in cli("search", "status", "tiny-search", "--sort", "bogus", workspace=workspace).output


def test_study_lookup_errors(workspace) -> None:
    out = cli("search", "status", "nope", workspace=workspace)
    assert out.exit_code == 2 and "no study 'nope'" in out.output
    out = cli("search", "ls", "--storage", "redis://x", workspace=workspace)
    assert out.exit_code == 2 and "--storage: unknown storage scheme 'redis'" in out.output


def test_direction_or_objective_change_needs_another_study(workspace) -> None:
    recipe = load_recipe(write_search(workspace))
    preflight(recipe, workspace.root)
    flipped = load_recipe(write_search(workspace, objective="eval_mean_token_accuracy"))
    from tailor.engine.search import SearchError

    with pytest.raises(SearchError, match="was created to minimize eval_loss.*set another study_name"):
        preflight(flipped, workspace.root)
