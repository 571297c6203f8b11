"""Helpers for search tests: write tiny search recipes, wait for conditions (no fixed sleeps)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pilot_helpers import wait_until  # noqa: F401 - re-exported for this area's tests

# Small and fast: 48 train rows, 8 eval rows, batch 4, a pruning check every 2 steps.
TINY_BASE: dict[str, Any] = {
    "kind": "sft",
    "name": "tiny-base",
    "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
    "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0},
    "data": {
        "train": {"path": "../data/reverse/train.jsonl", "max_rows": 48},
        "eval": {"path": "../data/reverse/eval.jsonl", "max_rows": 8},
    },
    "train": {
        "max_steps": 6,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "learning_rate": 3.0e-3,
        "logging_steps": 2,
        "max_length": 48,
    },
}


def search_data(name: str = "tiny-search", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "search",
        "name": name,
        "seed": 0,
        "base": "tiny-base.yaml",
        "space": {
            "r": [4, 8],
            "learning_rate": {"low": 1.0e-3, "high": 1.0e-2, "log": True},
            "lora_alpha": "2*r",
        },
        "n_trials": 3,
        "eval_steps": 2,
        "pruner": {"type": "median", "n_startup_trials": 1},
        "sampler": {"type": "tpe", "n_startup_trials": 2},
    }
    data.update(fields)
    return data


def write_search(workspace, name: str = "tiny-search", *, base: dict[str, Any] | None = None, **fields: Any) -> Path:
    """Write tiny-base.yaml and a search recipe into the workspace's recipes folder."""
    recipes = Path(workspace.recipes_dir)
    (recipes / "tiny-base.yaml").write_text(yaml.safe_dump(base or TINY_BASE, sort_keys=False))
    path = recipes / f"{name}.yaml"
    path.write_text(yaml.safe_dump(search_data(name, **fields), sort_keys=False))
    return path


def wait_for(predicate: Callable[[], Any], *, timeout: float = 300.0, what: str = "", poll: float = 0.2) -> Any:
    """Poll ``predicate`` until it is truthy (a condition wait, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(poll)


def wait_run_done(workspace, run_id: str, timeout: float = 600.0):
    run = workspace.run(run_id)
    return wait_for(
        lambda: (s := run.effective_status()).state.terminal and s, timeout=timeout, what=f"run {run_id} to end"
    )


def cli(*args: str, workspace=None) -> Any:
    """Run the `tailor` CLI in-process; returns click's Result."""
    from click.testing import CliRunner

    from tailor.tui.cli import cli as app

    argv = (["-w", str(workspace.root)] if workspace is not None else []) + list(args)
    return CliRunner().invoke(app, argv, catch_exceptions=False)


# -- TUI ---------------------------------------------------------------------------------------------


def make_app(workspace, **tui: Any):
    """A TailorApp over ``workspace`` opening on the Search screen, polling fast (``[tui]`` overrides)."""
    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp

    tui.setdefault("rescan_s", 0.3)
    tui.setdefault("start_screen", "search")
    return TailorApp(workspace, load_settings(workspace=workspace.root, tui=tui))


def add_trials(workspace, recipe_path: Path) -> Any:
    """Create the recipe's study (as `tailor search` does) and add finished trials through Optuna's API."""
    import optuna

    from tailor.engine.recipes import load_recipe
    from tailor.engine.search.study import open_study

    study, _ = open_study(load_recipe(recipe_path), workspace.root)
    dists = {
        "r": optuna.distributions.CategoricalDistribution([4, 8]),
        "learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-2, log=True),
    }
    specs = [  # (state, r, lr, intermediate values)
        ("COMPLETE", 8, 0.005, {2: 4.0, 4: 3.6, 6: 3.4}),
        ("PRUNED", 4, 0.0011, {2: 4.5}),
        ("COMPLETE", 4, 0.002, {2: 4.1, 4: 3.9, 6: 3.7}),
        ("COMPLETE", 8, 0.009, {2: 3.9, 4: 3.5, 6: 3.2}),
        ("FAIL", 4, 0.004, {}),
    ]
    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i, (state, r, lr, inter) in enumerate(specs):
        st = getattr(optuna.trial.TrialState, state)
        study.add_trial(
            optuna.trial.FrozenTrial(  # fixed times: durations (and snapshots) never change
                number=i,
                trial_id=i,
                state=st,
                value=list(inter.values())[-1] if st == optuna.trial.TrialState.COMPLETE else None,
                values=None,
                datetime_start=t0 + datetime.timedelta(minutes=i),
                datetime_complete=t0 + datetime.timedelta(minutes=i, seconds=20 + 5 * len(inter)),
                params={"r": r, "learning_rate": lr},
                distributions=dists,
                user_attrs={"run_id": f"tiny-search-t{i}-x", "steps": max(inter) if inter else 0, "derived": {"lora_alpha": 2 * r}},
                system_attrs={},
                intermediate_values=inter,
            )
        )
    return study
