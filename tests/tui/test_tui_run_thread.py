"""Following the thread in Runs: parent and child runs (p / P), a run's files in the viewer, the log pane
scrolling sideways, delete with a confirmation and progress, and ``tailor rm`` (its CLI twin)."""

from __future__ import annotations

import yaml
from click.testing import CliRunner
from textual.widgets import OptionList, TextArea
from tui_helpers import T0, make_app, wait_runs_loaded, wait_until, write_run

from tailor.engine.fsutil import atomic_write_text
from tailor.tui.cli import cli

PARENT = "sft-p-20260101-000000-aaaa"
CHILD = "dpo-c-20260101-010000-bbbb"
SIZE = (120, 36)


def lineage(workspace) -> None:
    write_run(workspace, PARENT, steps=10, total=10)
    child = write_run(workspace, CHILD, kind="dpo", steps=10, total=10, start=T0 + 3600)
    atomic_write_text(child.recipe_file, yaml.safe_dump({"kind": "dpo", "method": "lora", "from_run": PARENT}))
    with child.stderr_file.open("w") as fh:
        fh.write("warning: " + "a very long line that does not fit " * 20 + "\n")


async def test_parent_child_files_viewer_and_log(workspace):
    lineage(workspace)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 2)
        screen.open_run(PARENT)
        await wait_until(pilot, lambda: screen.detail.run_id == PARENT)
        await wait_until(pilot, lambda: f"children {CHILD} (P)" in str(screen.detail.query_one("#detail-stats").render()))
        await pilot.press("P")
        await wait_until(pilot, lambda: screen.table.selected_run == CHILD, what="the child")
        await wait_until(pilot, lambda: f"from {PARENT} (p)" in str(screen.detail.query_one("#detail-stats").render()))
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.table.selected_run == PARENT, what="the parent")

        # The log pane scrolls sideways for long lines.
        log = screen.log_pane
        log.add_lines(["x" * 400])
        await wait_until(pilot, lambda: log.max_scroll_x > 0, what="a horizontal scroll range")

        # Files: enter on stderr.log opens it in the viewer; w wraps; q goes back.
        screen.open_run(CHILD)
        await wait_until(pilot, lambda: screen.table.selected_run == CHILD)
        await pilot.press("o")
        files = await wait_until(pilot, lambda: type(app.screen).__name__ == "RunFilesScreen" and app.screen.entries
                                 and app.screen)
        options = files.query_one(OptionList)
        options.highlighted = next(i for i, (label, _p) in enumerate(files.entries) if label.startswith("stderr.log"))
        await pilot.press("enter")
        viewer = await wait_until(pilot, lambda: type(app.screen).__name__ == "TextViewerScreen" and app.screen)
        area = viewer.query_one(TextArea)
        await wait_until(pilot, lambda: "a very long line" in area.text, what="the file's text")
        assert not area.soft_wrap
        await pilot.press("w")
        assert area.soft_wrap
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is files)
        await pilot.press("escape")


async def test_delete_a_finished_run_with_confirmation(workspace):
    lineage(workspace)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 2)
        screen.open_run(PARENT)
        await wait_until(pilot, lambda: screen.table.selected_run == PARENT)
        await pilot.press("D")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        assert PARENT in str(app.screen.message)
        await pilot.press("n")  # kept
        assert (workspace.runs_dir / PARENT).is_dir()
        await pilot.press("D")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        task = await wait_until(pilot, lambda: type(app.screen).__name__ == "RunTaskScreen" and app.screen)
        await wait_until(pilot, lambda: task.done, what="the delete")
        assert not task.error and "deleted" in str(task.query_one("#task-result").render())
        assert not (workspace.runs_dir / PARENT).exists()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen and PARENT not in screen.store.runs)


def test_cli_rm_twin(workspace):
    lineage(workspace)
    runner = CliRunner()
    out = runner.invoke(cli, ["-w", str(workspace.root), "rm", PARENT], input="n\n")
    assert out.exit_code == 2 and (workspace.runs_dir / PARENT).is_dir()
    out = runner.invoke(cli, ["-w", str(workspace.root), "rm", "-y", PARENT])
    assert out.exit_code == 0, out.output
    assert not (workspace.runs_dir / PARENT).exists()


def test_cli_run_check_twin(workspace):
    """``tailor run --check``: the launch form's checks from the CLI, nothing launched."""
    runner = CliRunner()
    base = ["-w", str(workspace.root), "run", "demo-sft", "--check"]
    out = runner.invoke(cli, base)
    assert out.exit_code == 0 and "ready to launch" in out.output
    out = runner.invoke(cli, [*base, "-s", "model.name_or_path=tailor/tinyy"])
    assert out.exit_code == 2 and "model: model 'tailor/tinyy' is not in the Hugging Face cache" in out.output
    assert not any(workspace.runs_dir.iterdir())
