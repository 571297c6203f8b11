"""Pilot tests for every binding of the Runs screen over fixed, finished runs (fast, no training)."""

from __future__ import annotations

from tui_helpers import make_app, wait_runs_loaded, wait_until, write_run

from tailor.tui.screens.compare import CompareScreen
from tailor.tui.screens.confirm import ConfirmScreen
from tailor.tui.screens.help import HelpScreen
from tailor.tui.screens.launch import LaunchScreen
from tailor.tui.screens.run_files import RunFilesScreen

SIZE = (120, 40)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_cursor_keys_move_the_selection(runs_workspace):
    first, second, third = runs_workspace.fixed_run_ids
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        assert screen.table.selected_run == first
        for key, expected in (("j", second), ("down", third), ("k", second), ("up", first), ("G", third), ("g", first)):
            await pilot.press(key)
            await wait_until(pilot, lambda e=expected: screen.table.selected_run == e, what=f"{key} -> {expected}")
            await wait_until(pilot, lambda e=expected: screen.detail.run_id == e, what="detail follows")
        # The detail shows the selected run: curves from its history, its log, progress 30/30.
        info = screen.selected
        assert info.history_loaded and len(info.loss) == 30 and len(info.eval_loss) == 6
        assert screen.detail.log_pane.line_count > 30
        assert info.cells()["step"] == "30/30"


async def test_table_cells_show_state_step_losses(runs_workspace):
    first, failed, cancelled = runs_workspace.fixed_run_ids
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        table = screen.table
        row = [str(c) for c in table.get_row(failed)]
        assert "failed" in row and "12/30" in row
        row = [str(c) for c in table.get_row(cancelled)]
        assert "cancelled" in row and "dpo" in row and "local" in row
        assert table.get_column_index("method") > 0  # wide layout at 120 columns


async def test_mark_and_compare(runs_workspace):
    first, second, third = runs_workspace.fixed_run_ids
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("c")  # nothing marked yet: a hint, no screen
        await wait_until(pilot, lambda: any("Mark two or more" in n for n in notes(app)))
        await pilot.press("space", "space")  # marks first and second (the cursor moves down)
        assert screen.marked == {first, second}
        await pilot.press("c")
        compare = await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen)
        await wait_until(pilot, lambda: len(compare.infos) == 2 and compare.query_one("DataTable").row_count == 2)
        assert [len(i.loss) for i in compare.infos.values()] == [30, 12]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("k", "space")  # unmark the second
        assert screen.marked == {first}


async def test_state_filter_cycles(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        seen = []
        for _ in range(6):
            await pilot.press("f")
            seen.append((screen.state_filter, screen.table.row_count))
        assert seen == [("running", 0), ("succeeded", 1), ("failed", 1), ("cancelled", 1), ("queued", 0), (None, 3)]


async def test_text_filter_and_escape(runs_workspace):
    first, second, third = runs_workspace.fixed_run_ids
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("slash")
        assert screen.has_class("-filtering") and app.focused.id == "runs-filter"
        await pilot.press(*"dpo")
        assert screen.table.row_count == 1 and screen.table.selected_run == third
        await pilot.press("enter")
        assert not screen.has_class("-filtering") and screen.table.has_focus
        assert screen.has_class("-filtered")
        await pilot.press("escape")  # clears the filter
        assert screen.text_filter == "" and screen.table.row_count == 3
        assert screen.table.selected_run == third  # the selection survives the rebuild
        await pilot.press("f", "escape")
        assert screen.state_filter is None and screen.table.row_count == 3


async def test_files_modal_lists_and_copies_paths(runs_workspace):
    first = runs_workspace.fixed_run_ids[0]
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await pilot.press("o")
        files = await wait_until(pilot, lambda: isinstance(app.screen, RunFilesScreen) and app.screen)
        await wait_until(pilot, lambda: files.entries, what="files listed")
        labels = [label for label, _ in files.entries]
        assert labels[0] == "run folder" and any(label.startswith("events.jsonl") for label in labels)
        await pilot.press("y")
        assert app.clipboard == str(runs_workspace.runs_dir / first)
        await pilot.press("down", "y")
        assert app.clipboard.endswith("recipe.yaml")
        await pilot.press("enter")  # a file opens in the viewer
        await wait_until(pilot, lambda: type(app.screen).__name__ == "TextViewerScreen")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is files)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunFilesScreen))


async def test_zoom_and_log_focus(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("l")
        assert screen.detail.log_pane.has_focus
        await pilot.press("j", "k")  # scroll the log, the selection stays
        assert screen.table.selected_run == runs_workspace.fixed_run_ids[0]
        await pilot.press("l")
        assert screen.table.has_focus
        await pilot.press("z")
        assert screen.has_class("-zoomed") and not screen.table.display
        await pilot.press("escape")
        assert not screen.has_class("-zoomed") and screen.table.has_focus
        await pilot.press("enter")  # enter on a row zooms too
        assert screen.has_class("-zoomed")
        await pilot.press("z")
        assert not screen.has_class("-zoomed")


async def test_cancel_and_resume_refuse_finished_runs(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await pilot.press("x")  # succeeded: nothing to cancel, no confirmation
        await wait_until(pilot, lambda: any("nothing to cancel" in n for n in notes(app)))
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("r")  # the engine refuses; the one error handler shows its one line
        await wait_until(pilot, lambda: any("already succeeded" in n for n in notes(app)))
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and all("\n" not in str(n.message) and "Traceback" not in str(n.message) for n in errors)


async def test_launch_modal_opens_and_closes(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await pilot.press("n")
        launch = await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        await wait_until(pilot, lambda: launch.current is not None and launch.current.path.stem == "demo-sft")
        assert launch.query_one("#launch-r").placeholder == "16"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        assert len(app.workers) == len([w for w in app.workers if w.group != "runs.launch"])


async def test_help_lists_every_binding_with_ids(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("question_mark")
        help_screen = await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen)
        ids = {row.binding_id for row in help_screen.rows}
        for binding in screen.BINDINGS:
            if binding.id != "runs.zoom" or binding.key != "enter":
                assert binding.id in ids, binding.id
        assert {"app.help", "app.quit", "app.screen.datasets", "app.command_palette"} <= ids
        zoom = next(row for row in help_screen.rows if row.binding_id == "runs.zoom")  # one action, both keys
        assert set(zoom.keys.split(", ")) == {"⏎", "z"} and zoom.description == "Zoom detail"  # ⏎: enter
        assert not [row for row in help_screen.rows if "select_cursor" in row.binding_id]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("enter")  # the keys the help lists do what it says
        assert screen.has_class("-zoomed")
        await pilot.press("z")
        assert not screen.has_class("-zoomed")


async def test_command_palette_lists_runs_actions(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"state filt")
        await wait_until(pilot, lambda: app.screen.query("CommandList") and app.screen.query_one("CommandList").option_count)
        await pilot.press("enter")
        screen = await wait_until(pilot, lambda: type(app.screen).__name__ == "RunsScreen" and app.screen)
        await wait_until(pilot, lambda: screen.state_filter == "running", what="palette ran the state filter")


async def test_number_keys_switch_screens(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        for key, name in (("1", "datasets"), ("2", "search"), ("4", "evals"), ("5", "hosts")):
            await pilot.press(key)
            await wait_until(pilot, lambda n=name: app.current_mode == n)
            assert getattr(app.screen, "SCREEN_NAME", "") == name
        await pilot.press("3")
        await wait_until(pilot, lambda: app.screen is screen)


async def test_keymap_from_config_remaps_by_id(runs_workspace):
    app = make_app(runs_workspace, keymap={"runs.launch": "ctrl+l", "runs.cursor_down": "J"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("n")  # no longer bound
        await pilot.press("J")
        assert screen.table.selected_run == runs_workspace.fixed_run_ids[1]
        assert not isinstance(app.screen, LaunchScreen)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen))


async def test_new_runs_appear_and_vanished_runs_go(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        run = write_run(runs_workspace, "cli-20260102-000000-9999", start=1_767_312_000.0)
        await wait_until(pilot, lambda: screen.table.row_count == 4, what="the new run listed")
        assert run.run_id in screen.store
        import shutil

        shutil.rmtree(run.path)
        await wait_until(pilot, lambda: screen.table.row_count == 3, what="the removed run dropped")


async def test_mirrored_remote_run_shows_its_host_and_reads_history_locally(runs_workspace):
    import json

    run = write_run(runs_workspace, "remote-20260103-000000-7777", start=1_767_398_400.0)
    (run.path / "remote.json").write_text(json.dumps({"host": "gpu1", "path": "/r", "run_id": run.run_id}))
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 4)
        assert str(screen.table.get_cell(run.run_id, "host")) == "gpu1"
        await pilot.press("G")
        screen = await wait_runs_loaded(pilot, 4)  # history from the mirror, no SSH connection
        assert screen.selected.run_id == run.run_id and len(screen.selected.loss) == 20
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_quit(runs_workspace):
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running or app._exit_renderables is not None)
    assert app.return_code in (0, None)


async def test_resume_lists_what_changed_and_asks_before_accepting(workspace):
    import yaml
    from run_helpers import checkpointed_run

    recipe = yaml.safe_load((workspace.recipes_dir / "demo-sft.yaml").read_text())
    run = checkpointed_run(workspace, {**recipe, "train": {**recipe["train"], "max_steps": 60}})
    recipe = run.recipe_file.read_text()
    run.recipe_file.write_text(recipe.replace("r: 16", "r: 4"))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 1)
        await pilot.press("r")
        confirm = await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        assert confirm.message.startswith(f"{run.run_id} changed since checkpoint-2:\n  lora.r: 16 -> 4 (changes what")
        assert "Resume anyway?" in confirm.message and confirm.yes_label == "Resume anyway"
        await pilot.press("n")  # nothing happens to the run
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert run.read_status().state.value == "failed" and run.read_status().attempt == 0


async def test_the_runs_screen_shows_and_notifies_an_idle_gpu(workspace) -> None:
    from run_helpers import running_run

    run = running_run(workspace, idle_for=400)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any("stalled (GPU idle 6 min)" in str(n.message) for n in app._notifications),
                         what="the notification")
        assert [str(n.message) for n in app._notifications if "GPU idle" in str(n.message)] == [
            f"{run.run_id}: stalled (GPU idle 6 min)"]
        # the state column has its share of 120 columns: the word shows, the detail pane says it whole
        assert str(app.screen.table.get_cell(run.run_id, "state")).startswith("stalled (GPU")
