"""The kind registry: every list of kinds derives from tailor.engine.kinds, and a kind registered from outside
the engine loads, validates, launches, runs in a real worker, lists in `tailor runs`, shows in the launch
form and is a search base with its own default ranges — no other module edited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tailor.engine import kinds

PLUGIN = '''
"""Throwaway kinds: ``count`` counts to ``steps``, logging a metric per step; ``tune`` is a trainable,
searchable kind with a field of its own and its own default search ranges."""
from typing import Literal

from pydantic import Field

from tailor.engine import kinds
from tailor.engine.recipes.common import Recipe
from tailor.engine.recipes.trainable import TrainableRecipe


class CountRecipe(Recipe):
    kind: Literal["count"]
    name: str | None = None
    steps: int = Field(3, gt=0)


def run_count(recipe, ctx):
    for step in range(1, recipe.steps + 1):
        ctx.metric(step, {"loss": 1.0 / step})
        ctx.progress(step, recipe.steps, force=True)


kinds.register(kinds.Kind("count", CountRecipe, run_count, summary="counts"), replace=True)


class TuneRecipe(TrainableRecipe):
    kind: Literal["tune"] = "tune"
    warmth: float = Field(0.5, gt=0, lt=1)


kinds.register(kinds.Kind(
    "tune", TuneRecipe, run_count, data_tasks=("sft",), trl_config="SFTConfig", trainable=True, searchable=True,
    summary="tunes", search_ranges={"warmth": {"low": 0.2, "high": 0.8},
                                    "train.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}},
), replace=True)
'''


@pytest.fixture
def count_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The plug-in module on PYTHONPATH and in TAILOR_PLUGINS (what a worker and the CLI inherit)."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "count_kind.py").write_text(textwrap.dedent(PLUGIN))
    path = str(tmp_path / "plugins")
    monkeypatch.syspath_prepend(path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TAILOR_PLUGINS", "count_kind")
    kinds.load_plugins()
    yield kinds.get("count")
    kinds.unregister("count")
    kinds.unregister("tune")
    sys.modules.pop("count_kind", None)


def test_lists_derive_from_the_registry() -> None:
    assert {"sft", "dpo", "grpo", "search", "eval", "merge"} <= set(kinds.names())  # the built-ins register
    for flag, listed in (("trainable", kinds.trainable()), ("chainable", kinds.chainable()),
                         ("produces_model", kinds.model_producing()), ("searchable", kinds.searchable()),
                         ("evaluable", kinds.evaluable())):
        assert listed == [k.name for k in kinds.all_kinds() if getattr(k, flag)], flag
    assert kinds.data_tasks() == list(dict.fromkeys(t for k in kinds.all_kinds() for t in k.data_tasks))


def test_the_registry_alone_names_a_kinds_trl_config() -> None:
    """The recipe models state no TRL config class of their own: the registry entry is the one place."""
    for kind in kinds.all_kinds():
        model = kind.recipe_model()
        assert "config_class" not in vars(model), kind.name
        if kind.trainable:
            assert model.kind_trl_config() == kind.trl_config  # type: ignore[attr-defined]


def test_a_trainable_kind_without_a_trl_config_is_told_so(count_kind) -> None:
    from tailor.engine.errors import RecipeError
    from tailor.engine.recipes.load import parse_recipe

    tune = kinds.get("tune")
    kinds.register(kinds.Kind("tune", tune.recipe, tune.runner, trainable=True), replace=True)
    with pytest.raises(RecipeError, match=r"r.yaml:3: train: kind 'tune' names no trl_config in its registry entry"):
        parse_recipe("kind: tune\ndata: {train: t.jsonl}\ntrain: {max_steps: 2}\n", source="r.yaml", check_files=False)


def test_unknown_kind_lists_the_registry(tmp_path: Path) -> None:
    from tailor.engine.errors import RecipeError
    from tailor.engine.recipes.load import parse_recipe

    choices = ", ".join(kinds.names())
    with pytest.raises(RecipeError, match=rf"kind: unknown kind 'stf'; use one of {choices}; did you mean 'sft'"):
        parse_recipe("kind: stf\n", source="r.yaml")


def test_a_kind_registered_outside_the_engine_loads_launches_runs_and_lists(count_kind, workspace) -> None:
    from tailor.engine.errors import RecipeError
    from tailor.engine.executors.local import LocalExecutor
    from tailor.engine.recipes.load import load_recipe, parse_recipe

    recipe = workspace.recipes_dir / "count.yaml"
    recipe.write_text("kind: count\nname: counter\nsteps: 4\n")
    assert load_recipe(recipe).steps == 4  # type: ignore[union-attr]
    with pytest.raises(RecipeError, match=r"bad.yaml:2: steps: Input should be greater than 0"):
        parse_recipe("kind: count\nsteps: 0\n", source="bad.yaml")
    with pytest.raises(RecipeError, match=r"bad.yaml:2: stpes: unknown key; did you mean 'steps'"):
        parse_recipe("kind: count\nstpes: 2\n", source="bad.yaml")

    executor = LocalExecutor(workspace)
    status = executor.control.launch(recipe)
    deadline = time.monotonic() + 60
    while not (status := executor.control.status(status.run_id)).state.terminal:
        assert time.monotonic() < deadline, "the count worker did not finish"
        time.sleep(0.1)
    run = workspace.run(status.run_id)
    assert status.state == "succeeded", run.stderr_file.read_text()
    assert status.kind == "count" and status.step == 4
    assert [e["values"]["loss"] for e in run.events() if e["type"] == "metric"] == [1.0, 0.5, 1 / 3, 0.25]

    out = subprocess.run(
        [sys.executable, "-m", "tailor", "-w", str(workspace.root), "runs", "--json"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    listed = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"run_id": status.run_id, "kind": "count", "state": "succeeded"}.items() <= next(
        s for s in listed if s["run_id"] == status.run_id
    ).items()


def test_a_kind_registered_outside_the_engine_is_a_search_base(count_kind) -> None:
    """A search wraps the new kind: its own field is a parameter, and the ranges it leaves out come from
    its registry entry (warmth, learning_rate) or the shared defaults (r)."""
    from tailor.engine.errors import RecipeError
    from tailor.engine.recipes.load import parse_recipe
    from tailor.engine.recipes.search import SearchRecipe

    base = {"kind": "tune", "data": {"train": "train.jsonl", "eval_split": 0.2}}
    search = parse_recipe(
        {"kind": "search", "n_trials": 2, "base": base, "space": {"warmth": None, "learning_rate": None, "r": None}},
        check_files=False,
    )
    assert isinstance(search, SearchRecipe) and search.base_recipe.kind == "tune"
    space = search.model_dump(mode="json")["space"]
    assert space["warmth"] == {"type": "float", "low": 0.2, "high": 0.8}
    assert space["learning_rate"] == {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}
    assert space["r"] == {"choices": [8, 16, 32, 64, 128, 256]}
    with pytest.raises(RecipeError, match=r"space.warmth.high: 1.5 is not valid for warmth: Input should be less than 1"):
        parse_recipe({"kind": "search", "n_trials": 2, "base": base, "space": {"warmth": {"low": 0.1, "high": 1.5}}},
                     check_files=False)


async def test_a_kind_registered_outside_the_engine_shows_in_the_launch_form(count_kind, workspace) -> None:
    from pilot_helpers import wait_until
    from textual.widgets import Input, OptionList

    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp
    from tailor.tui.screens.launch import LaunchScreen

    (workspace.recipes_dir / "count.yaml").write_text("kind: count\nname: counter\nsteps: 4\n")
    (workspace.recipes_dir / "tune.yaml").write_text("kind: tune\ndata: {train: ../data/reverse/train.jsonl}\n")
    app = TailorApp(workspace, load_settings(workspace=workspace.root, tui={"rescan_s": 0.3}))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        form = LaunchScreen()
        app.push_screen(form)
        await wait_until(pilot, lambda: form.recipes and form.current is not None, what="the recipe list")
        assert {"count", "tune"} <= {p.stem for p in form.recipes}

        async def pick(stem: str) -> str:
            form.query_one("#launch-recipes", OptionList).highlighted = [p.stem for p in form.recipes].index(stem)
            await wait_until(pilot, lambda: form.current is not None and form.current.path.stem == stem, what=stem)
            return str(form.query_one("#launch-about").render())

        assert "count.yaml · kind count · overrides apply to" in await pick("count")  # launched as is
        assert form.query_one("#launch-r", Input).disabled
        assert "tune.yaml · kind tune · empty fields keep the recipe's value" in await pick("tune")  # trainable: overrides
        assert not form.query_one("#launch-r", Input).disabled
        await pilot.press("escape")
