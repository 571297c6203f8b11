"""`tailor eval RUN` on a run that used data.eval_split: its held-out rows are the eval set, and few-shot
examples come from its training rows only (never a held-out row)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str, level: str = "info") -> None:
        self.lines.append(message)


@pytest.fixture(scope="module")
def split_run(tmp_path_factory: pytest.TempPathFactory):
    from run_helpers import queue_run, run_worker

    from tailor.engine.recipes.load import parse_recipe
    from tailor.engine.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("evalsplit") / "ws").ensure()
    recipe = parse_recipe(
        {"kind": "sft", "name": "split", "model": {"dtype": "float32"},
         "data": {"train": {"path": "../data/reverse/train.jsonl", "max_rows": 40}, "eval_split": 6},
         "train": {"max_steps": 2, "per_device_train_batch_size": 4, "save_steps": 10, "eval_strategy": "no"}},
        source=str(ws.recipes_dir / "split.yaml"), base_dir=ws.recipes_dir,
    )
    run = queue_run(ws, recipe)
    assert run_worker(run).state.value == "succeeded"
    return ws, run


def test_the_few_shot_pool_is_the_training_split_without_held_out_prompts(split_run) -> None:
    from tailor.engine.eval.run import _key, _run_split, _without_held_out

    ws, run = split_run
    split = _run_split(ws, run.run_id, _Log())  # type: ignore[arg-type]
    assert split is not None
    train, held_out = split
    assert (len(train), len(held_out)) == (34, 6)
    assert not {_key(e) for e in train} & {_key(e) for e in held_out}
    log = _Log()
    assert _without_held_out(train + held_out[:2], held_out, log) == train  # type: ignore[arg-type]
    assert log.lines == ["few_shot: left out 2 pool rows that are held-out prompts"]


def test_tailor_eval_run_uses_the_held_out_rows_of_eval_split(split_run) -> None:
    from tailor.tui.cli import cli

    ws, run = split_run
    result = CliRunner().invoke(cli, ["-w", str(ws.root), "eval", run.run_id, "-q", "-s", "generation.max_new_tokens=4", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{"):])
    assert data["examples"] == 6
    assert {m["id"] for m in data["models"]} >= {"base", "base-3shot", run.run_id}
