"""Issue 25: the Runs table shows Eval and ETA at every width from 110 columns on (docs/tui.md), with the
learning rate as people write it."""

from __future__ import annotations

import os
import time

import yaml
from tui_helpers import make_app, wait_runs_loaded, wait_until, write_run

from tailor.engine.runs.liveness import this_host
from tailor.tui.widgets.run_data import short_name
from tailor.tui.widgets.run_settings import short_lr
from tailor.tui.widgets.run_table import (
    NAME_COLUMNS,
    PADDING,
    SCROLLBAR,
    USUAL_WIDTH,
    column_caps,
    columns_for,
    fit,
)

LONG = "alpaca-sft-lora-r16-packing-on-20260101-000000-a1b2"


def test_every_width_from_110_fits_its_columns():
    for width in range(110, 221):
        spec = columns_for(width)
        assert {"eval", "eta"} <= {k for k, _ in spec}, width
        caps = column_caps(spec, width)
        used = sum(caps.get(k, USUAL_WIDTH.get(k, 0)) for k, _ in spec) + PADDING * len(spec) + SCROLLBAR
        assert used <= width and all(caps[k] >= NAME_COLUMNS[k][0] for k in caps), (width, caps)


def test_learning_rate_reads_short():
    assert [short_lr(v) for v in ("0.000384858", "2e-05", "0.003", "0.00384858", "0.1", "1", "abc", "")] == [
        "3.8e-4", "2e-5", "0.003", "3.8e-3", "0.1", "1", "abc", ""]


def live_run(workspace) -> str:
    """A running run (this process stands in for its worker) with a long name and a LoRA recipe."""
    run = write_run(workspace, LONG, state="running", steps=12, total=30, start=time.time() - 60, step_s=2.0)
    run.recipe_file.write_text(yaml.safe_dump({
        "kind": "sft", "name": "alpaca", "method": "lora", "lora": {"r": 16},
        "train": {"learning_rate": 0.000384858}, "model": {"name_or_path": "HuggingFaceTB/SmolLM2-135M"}}))
    status = run.read_status().model_copy(update={"host": this_host(), "pid": os.getpid(), "ended_at": None})
    run.write_status(status)
    run.beat(os.getpid(), 12)
    return run.run_id


async def test_eval_and_eta_stay_on_screen_between_110_and_139(runs_workspace):
    live = live_run(runs_workspace)
    app = make_app(runs_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_runs_loaded(pilot, 4)
        table = screen.table
        await wait_until(pilot, lambda: table.get_row(live)[-1].plain not in ("", "-"), what="the live run's ETA")
        for width in (110, 120, 139):
            await pilot.resize_terminal(width, 40)
            await wait_until(pilot, lambda w=width: screen.table.size.width == w and screen.table.painted)
            keys = [c.key.value for c in table.columns.values()]
            assert keys[-2:] == ["eval", "eta"] and "lr" in keys
            shown = sum(c.get_render_width(table) for c in table.columns.values())
            assert shown <= table.size.width, (width, shown)
            row = dict(zip(keys, (str(c) for c in table.get_row(live)), strict=True))
            assert row["lr"] == "3.8e-4" and row["r"] == "16" and row["state"] == "running"
            assert row["name"] == fit(short_name(LONG), table.caps["name"]) and row["eta"] not in ("", "-")
        assert row["name"] == short_name(LONG)  # whole at 139; cut with "…" at 110 and 120
