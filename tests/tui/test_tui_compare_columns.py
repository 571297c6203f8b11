"""Telling runs apart: Runs table columns from each run's recipe (method, r, learning rate, model, trial),
configurable columns, and Compare's parameter diff with live curves for a run that is still training."""

from __future__ import annotations

import os

import yaml
from tui_helpers import T0, make_app, wait_runs_loaded, wait_until, write_run

from tailor.engine.fsutil import atomic_write_text
from tailor.engine.runs.liveness import process_start, this_host
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.tui.screens.compare import CompareScreen
from tailor.tui.widgets.run_settings import differing

A = "sft-a-20260101-000000-aaaa"
B = "sft-b-20260101-010000-bbbb"


def recipe(r: int, lr: float, model: str = "tailor/tiny") -> dict:
    return {"kind": "sft", "name": "x", "model": {"name_or_path": model, "dtype": "float32"}, "method": "lora",
            "lora": {"r": r, "lora_alpha": 32}, "train": {"learning_rate": lr, "max_steps": 30}}


def two_runs(workspace, *, running_b: bool = False) -> tuple[RunDir, RunDir]:
    a = write_run(workspace, A, steps=30, total=30)
    b = write_run(workspace, B, steps=10, total=30, start=T0 + 3600, state="running" if running_b else "succeeded")
    atomic_write_text(a.recipe_file, yaml.safe_dump(recipe(16, 3e-3)))
    atomic_write_text(b.recipe_file, yaml.safe_dump(recipe(8, 1e-3, "/models/llama-3b")))
    status = b.read_status().model_copy(update={"links": {"study": "sweep", "trial": 4}})
    if running_b:  # a live worker: this test process stands in for it
        pid = os.getpid()
        status = status.model_copy(update={"pid": pid, "pid_start": process_start(pid), "host": this_host(),
                                           "state": RunState.RUNNING, "ended_at": None})
    b.write_status(status)
    return a, b


async def test_columns_tell_runs_apart(workspace):
    two_runs(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(170, 30)) as pilot:  # wide: model and trial columns too
        screen = await wait_runs_loaded(pilot, 2)
        table = screen.table
        await wait_until(pilot, lambda: str(table.get_row(B)[table.get_column_index("r")]) == "8")

        def cell(run_id: str, key: str) -> str:
            return str(table.get_row(run_id)[table.get_column_index(key)])

        assert (cell(A, "method"), cell(A, "r"), cell(A, "lr"), cell(A, "model")) == ("lora", "16", "0.003", "tailor/tiny")
        assert (cell(B, "r"), cell(B, "lr"), cell(B, "model"), cell(B, "trial")) == ("8", "0.001", "llama-3b", "sweep #4")
        await pilot.resize_terminal(80, 24)  # narrow: the compact set
        await wait_until(pilot, lambda: table.compact and "method" not in dict(table.columns_spec))


async def test_runs_columns_from_the_settings(workspace):
    two_runs(workspace)
    app = make_app(workspace, runs_columns=["run", "r", "lr", "state"])
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await wait_runs_loaded(pilot, 2)
        assert [k for k, _ in screen.table.columns_spec] == ["mark", "run", "r", "lr", "state"]


def test_differing_lists_changed_fields_only():
    rows = differing([{"name": "a", "lora.r": "16", "seed": "1"}, {"name": "b", "lora.r": "8", "seed": "1"}])
    assert rows == [("lora.r", ["16", "8"])]


async def test_compare_diff_and_live_curves(workspace):
    _a, b = two_runs(workspace, running_b=True)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_runs_loaded(pilot, 2)
        await pilot.press("space", "space", "c")
        compare = await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen)
        diff = compare.query_one("#compare-diff")
        await wait_until(pilot, lambda: diff.row_count >= 3, what="the parameter diff")
        rows = {str(diff.get_row(k)[0]): [str(c) for c in diff.get_row(k)[1:]] for k in diff.rows}
        assert rows["lora.r"] == ["16", "8"]
        assert rows["train.learning_rate"] == ["0.003", "0.001"]
        assert rows["model.name_or_path"] == ["tailor/tiny", "/models/llama-3b"]
        assert "kind" not in rows and "method" not in rows  # equal fields are not listed

        summary = compare.query_one("#compare-table")
        loss_b = lambda: str(summary.get_row(B)[3])  # noqa: E731
        assert "(step 10)" in loss_b()  # running: the latest loss, not a final one
        assert str(summary.get_row(A)[3]) == "0.2941"  # finished: the final loss
        before = len(compare.infos[B].loss)
        with b.event_writer() as events:  # the worker trains on
            events.emit("metric", step=11, split="train", values={"loss": 0.5})
        await wait_until(pilot, lambda: len(compare.infos[B].loss) == before + 1, what="the live update")
        assert "(step 11)" in loss_b()
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is screen)


def test_tailor_compare_lists_the_same_differing_fields(workspace):
    """The CLI twin of Compare's diff: the same rows, in the same order, as the screen's table."""
    import json

    from click.testing import CliRunner

    from tailor.tui.cli import cli
    from tailor.tui.widgets.run_settings import read_settings

    a, b = two_runs(workspace)
    expected = differing([read_settings(run.path, run.read_status()).fields for run in (a, b)])
    assert [key for key, _ in expected] == ["lora.r", "model.name_or_path", "train.learning_rate"]
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "compare", A, B])
    assert out.exit_code == 0, out.output
    text = out.output.split("Recipe fields that differ\n", 1)[1].splitlines()
    assert text[0].split() == ["FIELD", "sft-a-aaaa", "sft-b-bbbb"]
    assert [line.split() for line in text[1:]] == [[key, *values] for key, values in expected]
    rows = [json.loads(line) for line in CliRunner().invoke(cli, ["-w", str(workspace.root), "compare", A, B, "--json"]).stdout.splitlines()]
    assert rows[1]["differs"] == {"model.name_or_path": "/models/llama-3b", "lora.r": "8", "train.learning_rate": "0.001"}
    same = CliRunner().invoke(cli, ["-w", str(workspace.root), "compare", A, A])
    assert "The recipes are identical" in same.output
