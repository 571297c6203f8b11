"""End to end: launch the workspace's demo recipe from the Runs screen and watch real training.

The demo recipe is trimmed to a few steps (the shared test machine has two cores); everything else is
real: the launch form, a detached worker training the tiny model, events followed into the table.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_helpers import make_app, runs_screen, shrink_recipe, wait_until

from tailor.tui.screens.confirm import ConfirmScreen
from tailor.tui.screens.launch import LaunchScreen

pytestmark = pytest.mark.slow
SIZE = (120, 40)
TRAIN_TIMEOUT = 420.0  # generous: worker start-up imports torch on a busy two-core machine


async def launch_demo(pilot, **fields: str) -> str:
    """n, pick demo-sft, fill the override form, ctrl+s; return the new run id once listed."""
    app = pilot.app
    screen = runs_screen(app)
    before = set(screen.store.runs)
    await pilot.press("n")
    launch = await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
    await wait_until(pilot, lambda: launch.current is not None and launch.current.path.stem == "demo-sft",
                     what="demo-sft read")
    for name, value in fields.items():
        box = launch.query_one(f"#launch-{name}", Input)
        box.focus()
        await pilot.press(*value)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: app.screen is screen, what="launch form closed")
    run_id = await wait_until(pilot, lambda: next(iter(set(screen.store.runs) - before), None), timeout=60,
                              what="the launched run in the table")
    await wait_until(pilot, lambda: screen.table.selected_run == run_id, what="the new run selected")
    return run_id


def state_cell(screen, run_id: str) -> str:
    return str(screen.table.get_cell(run_id, "state"))


async def test_launch_demo_recipe_and_watch_it_succeed(workspace):
    shrink_recipe(workspace.recipes_dir / "demo-sft.yaml", max_steps=6, logging_steps=1, eval_steps=3,
                  save_steps=3, per_device_train_batch_size=4, per_device_eval_batch_size=50)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = runs_screen(app)
        await wait_until(pilot, lambda: screen.scans >= 1)
        run_id = await launch_demo(pilot, r="8", learning_rate="0.002")
        info = screen.store.get(run_id)
        assert info.status.links.get("overrides") == {"lora.r": 8, "train.learning_rate": 0.002}
        await wait_until(pilot, lambda: state_cell(screen, run_id) == "running", timeout=120, what="running")
        await wait_until(pilot, lambda: state_cell(screen, run_id) == "succeeded", timeout=TRAIN_TIMEOUT,
                         what="succeeded in the table")
        await wait_until(pilot, lambda: str(screen.table.get_cell(run_id, "step")) == "6/6", what="6/6 steps")
        # Live curves, progress and log came from followed events (the listing may report the end first:
        # the follower's batches land within ~100 ms).
        await wait_until(pilot, lambda: [step for step, _ in info.eval_loss] == [3, 6], what="both eval points")
        assert [step for step, _ in info.loss] == [1, 2, 3, 4, 5, 6]
        assert info.lr and info.speed
        await wait_until(pilot, lambda: any("status succeeded" in line for line in screen.detail.log_pane.lines),
                         what="the final status in the log")
        assert str(screen.table.get_cell(run_id, "loss")) != "-"


async def test_cancel_then_resume_a_real_run(workspace):
    STEPS = 80
    # Long enough that the cancel lands well before the end even when the TUI is starved of CPU (under
    # xdist the other worker trains beside it: 60 steps of batch 4 once ended before the cancel arrived).
    shrink_recipe(workspace.recipes_dir / "demo-sft.yaml", max_steps=STEPS, logging_steps=1, eval_steps=STEPS,
                  save_steps=2, per_device_train_batch_size=16, per_device_eval_batch_size=50)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = runs_screen(app)
        await wait_until(pilot, lambda: screen.scans >= 1)
        run_id = await launch_demo(pilot)
        info = screen.store.get(run_id)
        await wait_until(pilot, lambda: info.status.step >= 1, timeout=TRAIN_TIMEOUT, what="first step")
        await pilot.press("x")
        confirm = await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        assert run_id in confirm.message
        await pilot.press("y")
        await wait_until(pilot, lambda: state_cell(screen, run_id) == "cancelled", timeout=120, what="cancelled")
        stopped_at = info.status.step
        assert stopped_at < STEPS
        await pilot.press("r")
        await wait_until(pilot, lambda: info.status.attempt == 1, timeout=30, what="resumed (attempt 1)")
        await wait_until(pilot, lambda: state_cell(screen, run_id) == "succeeded", timeout=TRAIN_TIMEOUT,
                         what="the resumed run succeeded")
        await wait_until(pilot, lambda: info.loss and info.loss[-1][0] == STEPS, what="the last loss point")
        steps = [step for step, _ in info.loss]
        assert steps == sorted(set(steps)) and steps[-1] == STEPS  # one continuous curve across the resume
        assert str(screen.table.get_cell(run_id, "step")) == f"{STEPS}/{STEPS}"
