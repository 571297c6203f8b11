"""A newcomer's tour (issue 25): one word for a pruned trial everywhere, and the smaller surprises fixed.

Fixed, finished runs written to disk; no training.
"""

from __future__ import annotations

import json

from click.testing import CliRunner
from tui_helpers import make_app, wait_runs_loaded, wait_until, write_run

from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.tui.cli import cli

SIZE = (120, 40)
TRIAL = "trial-20260101-000000-aaaa"


def _pruned_trial(workspace) -> RunDir:
    run = write_run(workspace, TRIAL, state="cancelled")
    status = run.read_status()
    status.trial_state = "pruned"  # as engine.search.trial writes it
    run.write_status(status)
    return run


async def test_a_pruned_trial_is_pruned_in_the_detail_header_and_notifications(workspace) -> None:
    from tailor.tui.widgets.run_data import RunInfo

    run = _pruned_trial(workspace)
    write_run(workspace, "demo-sft-20260101-010000-c3d4", start=1_767_229_200.0)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 2)
        screen.table.select(TRIAL)
        await wait_until(pilot, lambda: screen.detail.run_id == TRIAL, what="the trial's detail")
        title = str(screen.detail.query_one("#detail-title").render())
        assert "pruned" in title and "cancelled" not in title
        await pilot.press("x")  # cancel a finished trial: the warning names it pruned
        await wait_until(pilot, lambda: any("already pruned" in str(n.message) for n in app._notifications))
        # followed live: the final status event carries trial_state (engine/worker/context.py), the
        # notification says pruned
        live = RunInfo(TRIAL, "local", run.read_status().model_copy(update={"state": RunState.RUNNING}))
        live.apply([{"seq": 999, "time": 1.0, "type": "status", "state": "cancelled", "trial_state": "pruned"}])
        assert live.word == "pruned"
        app.clear_notifications()
        screen._announce(live, RunState.RUNNING)
        await wait_until(pilot, lambda: [str(n.message) for n in app._notifications] == [f"{TRIAL} pruned"],
                         what="the pruned notification")


def test_a_pruned_trial_is_pruned_in_tailor_compare(workspace) -> None:
    _pruned_trial(workspace)
    write_run(workspace, "demo-sft-20260101-010000-c3d4", start=1_767_229_200.0)
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "compare", TRIAL, "demo-sft-20260101-010000-c3d4"])
    assert out.exit_code == 0 and "pruned" in out.output and "cancelled" not in out.output, out.output


async def test_saving_a_playground_probe_checks_its_reference(workspace) -> None:
    """The reference starts as side A's answer, says so, follows up/down to side B and can be corrected."""
    import json

    from tailor.tui.screens.playground import Pane, PlaygroundScreen
    from tailor.tui.screens.playground_dialogs import SaveExample

    app = make_app(workspace, start_screen="playground")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, PlaygroundScreen) and app.screen,
                                  what="the playground")
        await wait_until(pilot, lambda: screen.listed, what="the model choices")
        screen.targets = {"A": "demo-sft-20260101-000000-abcd", "B": "base"}  # drawn, not loaded
        screen.labels = {"A": "demo-sft-20260101-000000-abcd", "B": "base (tailor/tiny)"}
        prompt = [{"role": "user", "content": "Reverse: word"}]
        screen.last_prompt = (prompt, "Reverse: word")
        screen.panes["A"] = Pane([("user", "Reverse: word"), ("assistant", "dloow")])
        screen.panes["B"] = Pane([("user", "Reverse: word"), ("assistant", "word word")])
        await pilot.press("escape", "s")  # leave the prompt, save
        dialog = await wait_until(pilot, lambda: isinstance(app.screen, SaveExample) and app.screen, what="the dialog")
        reference = dialog.query_one("#save-reference")
        assert reference.value == "dloow" and "side A's answer (edit" in str(dialog.query_one("#save-from").render())
        await pilot.press("down")
        assert reference.value == "word word" and "side B's answer" in str(dialog.query_one("#save-from").render())
        await pilot.press("up")
        reference.value = ""
        await pilot.press("enter")  # an empty reference is refused inline
        assert app.screen is dialog and "reference is empty" in str(dialog.query_one("#save-error").render())
        reference.value = "drow"  # the right answer
        await pilot.press("enter")
        target = workspace.root / "data" / "probes.jsonl"
        await wait_until(pilot, target.exists, what="the saved probe")
        row = json.loads(target.read_text())
        assert row["completion"] == [{"role": "assistant", "content": "drow"}] and row["prompt"] == prompt
        assert row["reference_from"] == "demo-sft-20260101-000000-abcd (edited)"
        assert row["answers"]["base (tailor/tiny)"] == "word word"
        assert any("edited" in str(n.message) for n in app._notifications)


def test_chat_reference_goes_with_save_to(workspace) -> None:
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "chat", "latest", "-p", "x", "--reference", "drow"])
    assert out.exit_code == 2 and "--save-to" in out.output and "Traceback" not in out.output


async def test_rows_are_numbered_from_1_in_the_row_detail_and_in_data_show(workspace) -> None:
    """One numbering: the browser's row 3 is `Row 3` in its detail and `--row 3` / `row 3` in the CLI."""
    from tailor.tui.screens.datasets import BrowserScreen, DatasetsScreen
    from tailor.tui.widgets.data_detail import RowDetailScreen

    data = workspace.data_dir / "reverse" / "train.jsonl"
    app = make_app(workspace, start_screen="datasets")
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen)
        screen.open(str(data))
        browser = await wait_until(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.source
                                   and app.screen.source.done and app.screen, what="the browser")
        await pilot.press("colon", "3", "enter")
        await wait_until(pilot, lambda: browser.table.cursor_row == 2, what="row 3")
        assert "row 3/1,000" in str(browser.query_one("#data-status").render())
        await pilot.press("enter")
        detail = await wait_until(pilot, lambda: isinstance(app.screen, RowDetailScreen) and app.screen)
        title = str(detail.query_one("#detail-title").render())
        assert title.startswith("Row 3 · ") and title.split(" · ")[1].endswith("train.jsonl:3")
        # opaque: no table column or scrollbar of the browser shows beside it
        assert detail.styles.background.a == 1.0


def test_data_show_numbers_rows_from_1(workspace) -> None:
    data = workspace.data_dir / "reverse" / "train.jsonl"
    third = data.read_text().splitlines()[2]
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "data", "show", str(data), "--start", "3", "-n", "1"])
    assert out.exit_code == 0 and out.output.splitlines()[1].startswith("row 3  train.jsonl:3  "), out.output
    assert json.loads(CliRunner().invoke(cli, ["data", "show", str(data), "--start", "3", "-n", "1", "--json"]).output) == json.loads(third)
    for bad in (["--row", "0"], ["--start", "0"]):
        out = CliRunner().invoke(cli, ["data", "show", str(data), *bad])
        assert out.exit_code == 2 and "numbered" in out.output and "Traceback" not in out.output, out.output


async def test_enter_while_playground_models_load_queues_the_prompt(workspace) -> None:
    from tailor.tui.screens.playground import PlaygroundScreen

    app = make_app(workspace, start_screen="playground")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, PlaygroundScreen) and app.screen,
                                  what="the playground")
        await wait_until(pilot, lambda: screen.listed, what="the model choices")
        screen.targets = {"A": "demo-sft-20260101-000000-abcd", "B": None}  # picked, its worker not answered yet
        await pilot.press(*"Reverse: word", "enter")
        assert screen.pending == "Reverse: word" and screen.query_one("#pg-prompt").value == ""
        assert any("sent when ready" in str(n.message) for n in app._notifications)
        assert "your prompt is sent when this model is ready" in str(screen.query_one("#pg-text-A").render())
        await pilot.press(*"again", "enter")  # one prompt waits at a time: the second stays in the box
        assert screen.pending == "Reverse: word" and screen.query_one("#pg-prompt").value == "again"


async def test_help_moves_with_vim_keys_and_its_example_names_this_screens_binding(workspace) -> None:
    from tailor.tui.screens.evals import EvalsScreen
    from tailor.tui.screens.help import HelpScreen

    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans, what="Evals")
        await pilot.press("question_mark")
        help_screen = await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen)
        hint = str(help_screen.query_one("#help-hint").render())
        assert '[tui.keymap] "evals.' in hint and "runs." not in hint, hint
        table = help_screen.query_one("#help-table")
        for key, row in (("G", table.row_count - 1), ("g", 0), ("j", 1), ("k", 0)):
            await pilot.press(key)
            assert table.cursor_row == row, key


def test_the_loss_panel_is_blank_not_its_css_id_before_the_plot_loads() -> None:
    """The frame paints at once and the plot mounts later: in between, nothing, never `Curves#detail-curves`."""
    from tailor.tui.widgets.curves import Curves

    curves = Curves("Loss", id="detail-curves")
    assert curves.plot is None and str(curves.render()) == ""


def test_recent_registry_entries_are_stored_absolute(workspace, tmp_path, monkeypatch) -> None:
    """`dataset_info.json#name` opened from some folder is found again from any other."""
    from tailor.engine.data.catalog import recent, remember

    (tmp_path / "dataset_info.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    remember(workspace, "dataset_info.json#identity")
    remember(workspace, "hf://datasets/org/name")  # not a path here: kept as written
    assert recent(workspace) == ["hf://datasets/org/name", f"{tmp_path.resolve()}/dataset_info.json#identity"]
