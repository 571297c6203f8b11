"""Snapshots of the main screens at 80x24 and 120x40 over fixed, finished runs (no clocks, UTC)."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, plots_ready, wait_runs_loaded, wait_until

from tailor.tui.screens.launch import GpuBudget

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


SNAP_DPO = """\
kind: dpo
name: snap-dpo
model: acme/snap-1B
data:
  train: ../data/reverse-preference/train.jsonl
train:
  learning_rate: 5.0e-4
"""


async def open_launch(pilot, recipe: str = "snap-sft"):
    await wait_runs_loaded(pilot, 3)
    await pilot.press("n")
    await wait_until(pilot, lambda: getattr(pilot.app.screen, "current", None) is not None)
    form = pilot.app.screen
    form.set_gpu_budget(GpuBudget("local", cpu=True))
    if form.current.path.stem != recipe:
        form.query_one("#launch-recipes").highlighted = next(i for i, p in enumerate(form.recipes) if p.stem == recipe)
        await wait_until(pilot, lambda: form.current.path.stem == recipe)
    await wait_until(pilot, lambda: form.fit is not None, what="the memory estimate")
    return form


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch_form_inline_errors(snap_compare, snap_workspace, size):
    async def ready(pilot):
        form = await open_launch(pilot)
        form.query_one("#launch-model").value = "acme/snap-1Bx"
        form.query_one("#launch-r").value = "eight"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: form.query_one("#launch-model-error").display
                         and form.query_one("#launch-r-error").display, what="both messages")

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch_form_chained(snap_compare, snap_workspace, size):
    (snap_workspace.recipes_dir / "snap-dpo.yaml").write_text(SNAP_DPO)

    async def ready(pilot):
        form = await open_launch(pilot, "snap-dpo")
        picker = form.query_one("#launch-from_run")
        run = snap_workspace.fixed_run_ids[0]
        await wait_until(pilot, lambda: any(value == run for _label, value in picker._options))
        picker.value = run
        await pilot.pause()

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch_form_host_picker_open(snap_compare, snap_workspace, size):
    # A host that is never probed successfully in tests: its line says so (the error text is the OS's).
    snap_workspace.config_file.write_text("hosts:\n  gpu-box: {hostname: 127.0.0.1, port: 9, user: me, agent: false}\n")

    async def ready(pilot):
        form = await open_launch(pilot)
        await wait_until(pilot, lambda: "gpu-box" in form.host_errors, timeout=30)
        form.host_errors["gpu-box"] = "connection refused"  # fixed text: the OS's wording varies
        form.set_gpu_budget(form.budgets["gpu-box"], "gpu-box")
        form.query_one("#launch-host").focus()
        await pilot.press("enter")  # open the list
        await pilot.pause()

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_parameter_diff(snap_compare, snap_workspace, size):
    import yaml

    from tailor.engine.fsutil import atomic_write_text

    a, b, c = snap_workspace.fixed_run_ids
    # A long value (a dataset elsewhere) wraps in its column: the runs after it stay on screen at 80x24.
    far = "/home/someone/datasets/reverse-preference/train.jsonl"
    for run_id, r, lr, data in ((a, 16, 3e-3, "../data/reverse/train.jsonl"), (b, 8, 1e-3, far),
                                (c, 8, 3e-3, "../data/reverse/train.jsonl")):
        atomic_write_text(snap_workspace.runs_dir / run_id / "recipe.yaml", yaml.safe_dump(
            {"kind": "sft", "method": "lora", "data": {"train": data}, "lora": {"r": r},
             "train": {"learning_rate": lr, "max_steps": 30}}))

    async def ready(pilot):
        await wait_runs_loaded(pilot, 3)
        await pilot.press("space", "space", "space", "c")
        await wait_until(pilot, lambda: len(getattr(pilot.app.screen, "settings", {})) == 3
                         and plots_ready(pilot.app.screen) and pilot.app.screen.query_one("#compare-diff").row_count)

    assert snap_compare(make_app(snap_workspace), terminal_size=size, run_before=ready)
