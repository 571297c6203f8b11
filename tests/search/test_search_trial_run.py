"""Follow the thread from Search to Runs: enter on a trial opens its run, and Runs shows the trial's study
and number (in the run detail and the widest table)."""

from __future__ import annotations

import yaml
from search_helpers import add_trials, make_app, wait_until, write_search

from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status
from tailor.tui.screens.runs import RunsScreen
from tailor.tui.screens.search import SearchScreen


def trial_run(workspace, run_id: str, trial: int) -> None:
    status = Status(run_id=run_id, kind="sft", name="tiny-search", state=RunState.SUCCEEDED, host="testhost",
                    links={"study": "tiny-search", "trial": trial, "search_run": "tiny-search-s"})
    recipe = {"kind": "sft", "method": "lora", "lora": {"r": 8}, "train": {"learning_rate": 0.009}}
    RunDir.create(workspace.runs_dir, run_id, yaml.safe_dump(recipe), status)


async def test_enter_on_a_trial_opens_its_run(workspace):
    add_trials(workspace, write_search(workspace))
    for i in range(5):
        trial_run(workspace, f"tiny-search-t{i}-x", i)
    app = make_app(workspace)
    async with app.run_test(size=(170, 44)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen)
                                  and app.screen.table.row_count == 5 and app.screen)
        screen.table.move_cursor(row=screen.table.get_row_index("3"))
        await pilot.press("enter")
        runs = await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen, what="Runs")
        await wait_until(pilot, lambda: runs.table.selected_run == "tiny-search-t3-x", what="the trial's run")
        table = runs.table
        assert str(table.get_row("tiny-search-t3-x")[table.get_column_index("trial")]).startswith("tiny-search")
        await wait_until(pilot, lambda: runs.detail is not None and runs.detail.run_id == "tiny-search-t3-x")
        stats = str(runs.detail.query_one("#detail-stats").render())
        assert "trial 3 of study tiny-search" in stats and "lora r=8" in stats
