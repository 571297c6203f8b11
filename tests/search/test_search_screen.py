"""Pilot tests of the Search screen: a real study in the workspace's storage, live polling, actions."""

from __future__ import annotations

import optuna
from search_helpers import add_trials, make_app, wait_run_done, wait_until, write_search

from tailor.tui.screens.confirm import ConfirmScreen
from tailor.tui.screens.search import SearchScreen
from tailor.tui.screens.search_dialogs import EnqueueTrial, PickSearchRecipe

SIZE = (140, 44)


def search_screen(app) -> SearchScreen:
    screen = app.screen
    assert isinstance(screen, SearchScreen), f"expected the Search screen, got {screen!r}"
    return screen


async def loaded(pilot, rows: int) -> SearchScreen:
    return await wait_until(
        pilot,
        lambda: isinstance(pilot.app.screen, SearchScreen) and pilot.app.screen.table.row_count == rows and pilot.app.screen,
        what=f"{rows} trial rows",
    )


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_empty_workspace_explains_how_to_start(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.polls >= 1 and app.screen)
        assert screen.has_class("-empty")
        assert "No studies yet" in str(screen.query_one("#search-empty").render())


async def test_table_charts_heatmap_and_sorting(workspace):
    add_trials(workspace, write_search(workspace))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot, 5)
        header = str(screen.query_one("#search-header").render())
        assert "study tiny-search" in header and "3 complete, 1 pruned, 1 failed" in header and "best #3 3.2" in header
        assert [str(c) for c in screen.table.get_row("3")][:4] == ["3 ★", "complete", "8", "0.009"]
        assert [str(c) for c in screen.table.get_row("1")][1] == "pruned"
        assert str(screen.table.get_row("1")[5]) == "4.5*"  # last intermediate value of a pruned trial
        # Best-so-far history and per-trial curves (the pruned trial is marked).
        assert screen.snap["history"] == [(0, 3.4), (2, 3.4), (3, 3.2)]
        labels = [series[0] for series in screen.query_one("#search-curves")._series]
        assert labels == ["#0", "#1 ✗", "#2", "#3 ★"]
        # Importances (3 complete trials) and the r x learning-rate heatmap.
        assert set(screen.snap["importances"]) == {"r", "learning_rate"}
        heat = screen.query_one("#search-heatmap")
        assert "r x learning_rate" in str(heat.border_title)
        # Sort: o cycles number -> value (best first), O reverses.
        await pilot.press("o")
        await wait_until(pilot, lambda: screen.table.coordinate_to_cell_key((0, 0)).row_key.value == "3", what="best first")
        await pilot.press("O")
        await wait_until(pilot, lambda: screen.table.coordinate_to_cell_key((0, 0)).row_key.value in ("1", "4"), what="reversed")


async def test_enqueue_from_the_screen(workspace):
    add_trials(workspace, write_search(workspace))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot, 5)
        await pilot.press("e")
        dialog = await wait_until(pilot, lambda: isinstance(app.screen, EnqueueTrial) and app.screen)
        inputs = list(dialog.query("Input"))
        assert [i.value for i in inputs] == ["8", "0.009"]  # prefilled with the best trial
        inputs[1].value = "0.003"
        await pilot.press("enter")
        await loaded(pilot, 6)
        study = optuna.load_study(study_name="tiny-search", storage=f"sqlite:///{workspace.studies_db}")
        waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
        assert [t.system_attrs["fixed_params"] for t in waiting] == [{"r": 8, "learning_rate": 0.003}]
        assert [str(c) for c in screen.table.get_row("5")][1] == "waiting"
        # A value outside the space is refused with one line, nothing queued.
        await pilot.press("e")
        dialog = await wait_until(pilot, lambda: isinstance(app.screen, EnqueueTrial) and app.screen)
        list(dialog.query("Input"))[0].value = "12"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("r=12 is not one of the choices" in n for n in notes(app)))
        assert len(study.get_trials()) == 6


async def test_promote_best_trains_a_full_run(workspace):
    add_trials(workspace, write_search(workspace))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 5)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: any(n.startswith("training tiny-search-t3-full") for n in notes(app)), what="promoted")
    runs = [r for r in workspace.run_dirs() if r.run_id.startswith("tiny-search-t3-full")]
    assert len(runs) == 1
    status = wait_run_done(workspace, runs[0].run_id)
    assert status.state.value == "succeeded" and status.links["promoted_from"] == {"study": "tiny-search", "trial": 3}


async def test_start_and_stop_a_live_search(workspace):
    write_search(workspace, n_trials=2, pruner="none", trial_train={"max_steps": 400})
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.polls >= 1)
        await pilot.press("n")
        picker = await wait_until(pilot, lambda: isinstance(app.screen, PickSearchRecipe) and app.screen)
        options = picker.query_one("OptionList")
        await wait_until(pilot, lambda: options.option_count >= 2, what="search recipes listed")
        index = next(i for i in range(options.option_count) if "tiny-search" in str(options.get_option_at_index(i).prompt))
        options.highlighted = index
        await pilot.press("enter")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen)
        await wait_until(
            pilot,
            lambda: screen.snap and screen.snap["study"] == "tiny-search" and screen.snap["counts"]["running"] == 1,
            timeout=120,
            what="a running trial",
        )
        assert screen.snap["workers"]
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: screen.snap and not screen.snap["workers"] and screen.snap["counts"]["waiting"] == 1,
            timeout=120,
            what="workers stopped, the interrupted trial queued",
        )
        states = [r["state"] for r in screen.snap["rows"]]
        assert states == ["failed", "waiting"]


async def test_enter_on_a_trial_whose_run_was_deleted_says_so(workspace):
    from tailor.engine.runs.rundir import RunDir
    from tailor.engine.runs.status import RunState, Status
    from tailor.tui.screens.runs import RunsScreen

    add_trials(workspace, write_search(workspace))  # trial runs tiny-search-t{N}-x: none on disk
    kept = "tiny-search-t3-x"
    RunDir.create(workspace.runs_dir, kept, "kind: sft\n", Status(run_id=kept, kind="sft", state=RunState.SUCCEEDED))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot, 5)
        screen.table.focus()
        screen.table.move_cursor(row=screen.table.get_row_index("2"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("tiny-search-t2-x was deleted" in n for n in notes(app)), what="the warning")
        assert app.screen is screen
        screen.table.move_cursor(row=screen.table.get_row_index("3"))
        await pilot.press("enter")  # a run that exists: opened in Runs
        runs = await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen, what="Runs")
        await wait_until(pilot, lambda: runs.table.selected_run == kept, what="the trial's run selected")
