"""A light install (``pip install tailor-tui``, no training stack): whatever would start a worker here is
refused before a run directory exists, in one line with the command to run (exit 2); a TUI/CLI feature
that needs a library of the ``train`` extra says so in one line. Here the stack is installed, so
``stack.missing`` is made to report it absent; tests/core/test_light_install.py checks a real light venv."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from tailor.engine import stack
from tailor.engine.control import Control
from tailor.engine.errors import TRAIN_EXTRA, MissingExtra, missing_extra, one_line
from tailor.tui.cli import cli

REFUSED = f"needs the training stack (torch, transformers, tokenizers, ... not installed here): {TRAIN_EXTRA}"


@pytest.fixture
def light(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a light install would see it: every library of the ``train`` extra missing."""
    monkeypatch.setattr(stack, "missing", lambda modules=stack.TRAINING_STACK: list(modules))


def run_cli(workspace, *args: str):
    return CliRunner().invoke(cli, ["-w", str(workspace.root), *args])


def no_run_dirs(workspace) -> bool:
    return not [p for p in workspace.runs_dir.iterdir() if p.is_dir()]


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("run", "demo-sft.yaml"), "a local run"),
        (("run", "demo-sft.yaml", "--check"), "recipe: a local run"),
        (("search", "demo-search"), "a local search"),
        (("eval", "demo-eval"), "a local run"),
    ],
)
def test_local_launches_are_refused_in_one_line_before_a_run_directory(light, workspace, args, what) -> None:
    out = run_cli(workspace, *args)
    assert out.exit_code == 2, out.output
    assert out.output.strip().splitlines() == [f"error: {what} {REFUSED}, or launch it on a host (--host)"]
    assert no_run_dirs(workspace) and not (workspace.root / "studies.db").exists()


def test_control_refuses_launch_and_resume_unless_the_worker_is_another_python(light, workspace) -> None:
    recipe = workspace.recipes_dir / "demo-sft.yaml"
    with pytest.raises(MissingExtra, match=r"a local run needs the training stack"):
        Control(workspace).launch(recipe)
    with pytest.raises(MissingExtra, match=r"resuming a run here needs the training stack"):
        Control(workspace).resume("20260101-000000-demo")
    assert no_run_dirs(workspace)
    Control(workspace, python="/opt/gpu-venv/bin/python").require_stack("a local run")  # its own check


def test_the_launch_check_names_the_extra_for_local_only(light, workspace) -> None:
    from tailor.engine.preflight import preflight

    recipe = workspace.recipes_dir / "demo-sft.yaml"
    [problem] = preflight(recipe, host="local")
    assert problem.field == "recipe" and TRAIN_EXTRA in problem.message
    assert preflight(recipe, host="gpu1") == []  # a remote launch needs nothing heavy here


async def test_a_local_chat_is_refused(light, workspace) -> None:
    from tailor.engine.chat.client import ChatWorker

    with pytest.raises(MissingExtra, match=r"a local chat needs the training stack"):
        await asyncio.wait_for(ChatWorker.start(workspace), 10)


def test_tokenizer_views_and_studies_say_which_extra(light, workspace) -> None:
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec
    from tailor.engine.search.watch import StudyWatcher

    with pytest.raises(MissingExtra, match=r"a tokenizer view .* \(transformers, tokenizers not installed"):
        load_tokenizer(ModelSpec(name_or_path="tailor/tiny"))
    with pytest.raises(MissingExtra, match=r"a search study .* \(optuna not installed here\)"):
        StudyWatcher(workspace).studies()
    data = workspace.data_dir / "reverse" / "train.jsonl"
    out = run_cli(workspace, "data", "show", str(data), "--row", "2")
    assert out.exit_code == 2 and out.output.count("\n") == 1 and TRAIN_EXTRA in out.output, out.output
    out = run_cli(workspace, "search", "status", "demo")
    assert out.exit_code == 2 and out.output.count("\n") == 1 and TRAIN_EXTRA in out.output, out.output
    # The quality report needs no tokenizer but for its token lengths: they are left out, in one line.
    out = run_cli(workspace, "data", "check", str(data))
    assert out.exit_code == 0, out.output
    assert f"note: counting tokens needs the training stack (transformers, tokenizers not installed here): {TRAIN_EXTRA}" in out.output
    assert "verdict" in out.output


def test_a_missing_library_anywhere_is_one_line_naming_the_extra() -> None:
    err = ModuleNotFoundError("No module named 'optuna'", name="optuna")
    assert one_line(err) == f"this needs optuna, which is not installed here: {TRAIN_EXTRA}"
    assert missing_extra(ModuleNotFoundError("No module named 'torch.cuda'", name="torch.cuda")) is not None
    assert missing_extra(ModuleNotFoundError("No module named 'yaml'", name="yaml")) is None
    assert missing_extra(ImportError("cannot import name 'x' from 'torch'", name="torch")) is None
