"""Layouts that used to cut or hide something on a small terminal (issue 25, item 9), as snapshots: a
chained run's lineage in the stats box and the nav bar at 60 columns, the launch form at 60 columns, the
row detail's legend; and the Evals table's model column while its metrics scroll sideways.

The launch form's hint and the compare diff are in test_tui_snapshots.py, the Add-host form in
tests/ssh/test_hosts_snapshots.py, every control at 80x24 in test_tui_walk.py.
"""

from __future__ import annotations

import pytest
import yaml
from pilot_helpers import settle_tables
from tui_helpers import T0, make_app, wait_runs_loaded, wait_until

from tailor.engine.fsutil import atomic_write_text
from tailor.engine.runs.rundir import RunDir
from tailor.tui.screens.launch import GpuBudget

SIZES = [(80, 24), (120, 40)]
NARROW = (60, 20)


def _ids(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.fixture
def chained_workspace(runs_workspace):
    """The fixed runs, the DPO one started from the SFT one with a long base model name (as on the hub)."""
    for path in runs_workspace.recipes():
        path.unlink()
    (runs_workspace.recipes_dir / "snap-sft.yaml").write_text(
        "kind: sft\nname: snap-sft\nmodel: acme/snap-1B\ndata:\n  train: ../data/reverse/train.jsonl\n")
    parent, _failed, child = runs_workspace.fixed_run_ids
    run = RunDir(runs_workspace.runs_dir / child)
    atomic_write_text(run.recipe_file, yaml.safe_dump(
        {"kind": "dpo", "method": "lora", "lora": {"r": 16}, "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
         "from_run": parent}))
    status = run.read_status()
    status.latest.update({"rewards/accuracies": 0.875, "rewards/margins": 0.42})
    run.write_status(status)
    return runs_workspace


@pytest.mark.parametrize("size", [NARROW, *SIZES], ids=_ids)
def test_chained_run_lineage_and_nav_bar(snap_compare, chained_workspace, size):
    parent = chained_workspace.fixed_run_ids[0]

    async def ready(pilot):
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("j", "j")
        await wait_runs_loaded(pilot, 3)
        assert screen.selected.run_id == chained_workspace.fixed_run_ids[2]
        assert str(screen.detail.query_one("#detail-stats").render()).startswith(f"from {parent} (p)")

    assert snap_compare(make_app(chained_workspace), terminal_size=size, run_before=ready)


def test_launch_form_at_60_columns(snap_compare, chained_workspace):
    async def ready(pilot):
        await wait_runs_loaded(pilot, 3)
        await pilot.press("n")
        form = await wait_until(pilot, lambda: getattr(pilot.app.screen, "current", None) is not None
                                and pilot.app.screen)
        form.set_gpu_budget(GpuBudget("local", cpu=True))  # the same line on a GPU machine
        await wait_until(pilot, lambda: form.fit is not None, what="the memory estimate")
        form.query_one("#launch-cancel").focus()  # as tab gets there: the form scrolls, all three buttons show
        await pilot.pause()

    assert snap_compare(make_app(chained_workspace), terminal_size=NARROW, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_row_detail_legend(snap_compare, workspace, monkeypatch, size):
    from tailor.tui.widgets.data_detail import RowDetailScreen

    for path in workspace.recipes():  # the browser's model comes from no recipe: the default one
        path.unlink()
    monkeypatch.chdir(workspace.root)  # the header shows the path as opened

    async def ready(pilot):
        app = pilot.app
        datasets = await wait_until(pilot, lambda: type(app.screen).__name__ == "DatasetsScreen" and app.screen)
        datasets.open("data/reverse/train.jsonl")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BrowserScreen" and app.screen.source is not None
                         and app.screen.source.done and app.screen.table.row_count, what="the rows")
        await pilot.press("enter")
        detail = await wait_until(pilot, lambda: isinstance(app.screen, RowDetailScreen) and app.screen)
        await wait_until(pilot, lambda: "highlighted" in str(detail.query_one("#detail-rendered-title").render()),
                         timeout=60, what="the tokenized row")
        await pilot.press("G")  # the legend and the tokens at the bottom
        await pilot.pause()

    assert snap_compare(make_app(workspace, start_screen="datasets"), terminal_size=size, run_before=ready)


def test_evals_model_column_stays_while_metrics_scroll(snap_compare, workspace):
    """Six metrics do not fit 80 columns: right scrolls them, the (short) model names stay at the left.
    (At 120x40 they fit: the Evals table there is test_evals_snapshots.py's.)"""
    size = (80, 24)
    from tailor.engine.eval.results import EvalResults, ModelResult, write_results
    from tailor.engine.runs.status import RunState, Status
    from tailor.tui.screens.evals import EvalsScreen

    run_id, trained = "demo-eval-20260101-020000-abcd", "demo-sft-20260101-010000-c3d4"
    status = Status(run_id=run_id, kind="eval", name="demo-eval", state=RunState.SUCCEEDED, created_at=T0)
    run = RunDir.create(workspace.runs_dir, run_id, "kind: eval\n", status)
    metrics = ["eval_loss", "exact_match", "token_f1", "rouge_l", "bleu", "chrf"]
    values = {"eval_loss": 4.0, "exact_match": 0.1, "token_f1": 0.2, "rouge_l": 0.3, "bleu": 0.1, "chrf": 10.0}
    models = [ModelResult("base", "base (zero-shot)", "base", "tailor/tiny", metrics=values),
              ModelResult(trained, trained, "run", trained, run_id=trained,
                          metrics={m: v / 2 if m == "eval_loss" else v * 2 for m, v in values.items()})]
    write_results(run.eval_dir, EvalResults("generation", metrics, {m: m != "eval_loss" for m in metrics}, models,
                                            baseline="base", primary="exact_match", examples=100, run_id=run_id,
                                            created_at=T0))

    async def ready(pilot):
        app = pilot.app
        screen = await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans
                                  and app.screen.models_table.row_count == 2 and app.screen)
        await settle_tables(pilot)
        table = screen.models_table

        def line(y: int) -> str:
            return table.render_line(y).text

        assert "demo-sft-c3d4" in line(2)  # the run's short name
        assert table.max_scroll_x > 0 and "chrF" not in line(0)
        for _ in range(60):  # right scrolls a few cells at a time, up to the last metric
            if table.scroll_x >= table.max_scroll_x:
                break
            await pilot.press("right")
        await pilot.pause()
        assert "chrF" in line(0) and "model" in line(0) and "demo-sft-c3d4" in line(2)

    assert snap_compare(make_app(workspace, start_screen="evals"), terminal_size=size, run_before=ready)
