"""The worker's CPU thread count: its share of the usable cores among live workers, overridable, logged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tailor.engine.worker import threads


def test_the_cores_are_shared_among_live_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.choose(None, None, others=0, cores=2) == (2, "2 usable cores shared with 0 other live workers on this machine")
    assert threads.choose(None, None, others=1, cores=2)[0] == 1
    assert threads.choose(None, None, others=7, cores=2)[0] == 1  # never zero
    assert threads.choose(None, None, others=1, cores=16)[0] == 8


def test_overrides_win_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose(4, 5, others=0, cores=2) == (4, "resources.threads in the recipe")
    assert threads.choose(None, 5, others=0, cores=2) == (5, "the worker_threads setting")
    assert threads.choose(None, None, others=0, cores=2) == (3, "OMP_NUM_THREADS in the environment")


def test_live_workers_are_counted_and_stale_pid_files_dropped(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / str(sleeper.pid)).touch()
        (tmp_path / "999999999").touch()  # no such process
        mine = threads.register(tmp_path)
        assert threads.other_workers(tmp_path) == 1
        assert not (tmp_path / "999999999").exists()
        threads.unregister(mine)
        assert not mine.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_count_chosen_automatically_is_not_inherited_as_an_override() -> None:
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", threads.AUTO_MARK: "1"}
    assert threads.inherited_env(env) == {}
    assert threads.inherited_env({"OMP_NUM_THREADS": "2"}) == {"OMP_NUM_THREADS": "2"}  # the user's own


def test_the_worker_logs_its_choice(workspace) -> None:
    from run_helpers import queue_run, run_worker

    from tailor.engine.recipes.load import parse_recipe

    recipe = parse_recipe({"kind": "eval", "data": "../data/reverse/eval.jsonl", "max_examples": 1, "few_shot": 0,
                           "generation": {"max_new_tokens": 1}},
                          source=str(workspace.recipes_dir / "t.yaml"), base_dir=workspace.recipes_dir)
    run = queue_run(workspace, recipe)
    run_worker(run)
    logs = [e["message"] for e in run.events() if e["type"] == "log"]
    assert any(m.startswith(f"CPU threads: {os.environ['OMP_NUM_THREADS']} (OMP_NUM_THREADS in the environment") for m in logs), logs
