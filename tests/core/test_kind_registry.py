"""The kind registry: every list of kinds derives from tailor.engine.kinds, and a kind registered from outside
the engine loads, validates, launches, runs in a real worker and lists in `tailor runs` — no other
module edited."""

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
"""A throwaway kind: counts to ``steps``, logging a metric per step."""
from typing import Literal

from pydantic import Field

from tailor.engine import kinds
from tailor.engine.recipes.common import Strict


class CountRecipe(Strict):
    kind: Literal["count"]
    name: str | None = None
    steps: int = Field(3, gt=0)


def run_count(recipe, ctx):
    for step in range(1, recipe.steps + 1):
        ctx.metric(step, {"loss": 1.0 / step})
        ctx.progress(step, recipe.steps, force=True)


kinds.register(kinds.Kind("count", CountRecipe, run_count, summary="counts"), replace=True)
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
    sys.modules.pop("count_kind", None)


def test_builtin_lists_derive_from_the_registry() -> None:
    assert kinds.names()[:6] == ["sft", "dpo", "grpo", "search", "eval", "merge"]
    assert kinds.trainable() == ["sft", "dpo", "grpo"]
    assert kinds.searchable() == ["sft", "dpo", "grpo"]
    assert kinds.model_producing() == ["sft", "dpo", "grpo", "merge"]
    assert kinds.data_tasks() == ["sft", "preference", "unpaired_preference"]
    for kind in kinds.all_kinds():  # the TRL config named in the registry is the one the model checks against
        if kind.trl_config:
            assert kind.recipe_model().config_class == kind.trl_config  # type: ignore[attr-defined]


def test_unknown_kind_lists_the_registry(tmp_path: Path) -> None:
    from tailor.engine.errors import RecipeError
    from tailor.engine.recipes.load import parse_recipe

    with pytest.raises(RecipeError, match=r"kind: unknown kind 'stf'; use one of sft, dpo, grpo, search, eval.*did you mean 'sft'"):
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
