"""Snapshots of the main screens at 80x24 and 120x40 over fixed, finished runs (no clocks, UTC)."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, plots_ready, wait_runs_loaded, wait_until

from tui.screens.launch import GpuBudget

SIZES = [(80, 24), (120, 40)]

# The model's size in its name gives the launch form's memory estimate a fixed shape (tailor/tiny's
# shape depends on whether another test built it already).

SNAP_RECIPE = """\
kind: sft
name: snap-sft
model: acme/snap-1B
lora: {r: 16}
data:
  train: ../data/reverse/train.jsonl
train:
  learning_rate: 3.0e-3
  num_train_epochs: 2
"""


@pytest.fixture
def snap_workspace(runs_workspace):
    # Only a fixed recipe: snapshots must not change when example recipes are added or edited.
    for path in runs_workspace.recipes():
        path.unlink()
    (runs_workspace.recipes_dir / "snap-sft.yaml").write_text(SNAP_RECIPE)
    return runs_workspace


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_screen(snap_compare, snap_workspace, size):
    async def ready(pilot):
        await wait_runs_loaded(pilot, 3)

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_screen_failed_run_selected(snap_compare, snap_workspace, size):
    async def ready(pilot):
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("j")
        await wait_runs_loaded(pilot, 3)
        assert screen.selected.state.value == "failed"

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch_form(snap_compare, snap_workspace, size):
    async def ready(pilot):
        await wait_runs_loaded(pilot, 3)
        await pilot.press("n")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "current", None) is not None)
        pilot.app.screen.set_gpu_budget(GpuBudget("local", cpu=True))  # the same line on a GPU machine
        await wait_until(pilot, lambda: pilot.app.screen.fit is not None, what="the memory estimate")

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, snap_workspace, size):
    async def ready(pilot):
        await wait_runs_loaded(pilot, 3)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen")

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare(snap_compare, snap_workspace, size):
    async def ready(pilot):
        await wait_runs_loaded(pilot, 3)
        await pilot.press("space", "space", "space", "c")
        await wait_until(pilot, lambda: len(getattr(pilot.app.screen, "infos", {})) == 3
                         and plots_ready(pilot.app.screen))

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty_workspace(snap_compare, workspace, size):
    async def ready(pilot):
        await wait_runs_loaded(pilot, 0)

    assert snap_compare(make_app(workspace), terminal_size=size, run_before=ready)
