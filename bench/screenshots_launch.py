"""Screenshots of the launch form (``python bench/screenshots.py --only launch``): the form with its host
picker, inline validation messages, a chained DPO launch from a finished SFT run, the effective-recipe
preview, and Compare with its parameter diff, at 80x24 and 120x40.

Called by bench/screenshots.py in its throw-away workspace (``$TAILOR_WORKSPACE``); no training runs: two
finished SFT runs are written through the run-directory API so the pickers and Compare have something to show.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

SIZES = [(80, 24), (120, 40)]


def finished_run(workspace, run_id: str, r: int, lr: float, loss: float) -> None:
    import yaml

    from tailor.engine.runs.rundir import RunDir
    from tailor.engine.runs.status import RunState, Status

    status = Status(run_id=run_id, kind="sft", name="demo-sft", state=RunState.SUCCEEDED, host="local", step=30,
                    total_steps=30, latest={"loss": loss, "eval_loss": round(loss * 1.1, 4)})
    recipe = {"kind": "sft", "model": {"name_or_path": "tailor/tiny"}, "method": "lora", "lora": {"r": r},
              "train": {"learning_rate": lr, "max_steps": 30}}
    run = RunDir.create(workspace.runs_dir, run_id, yaml.safe_dump(recipe, sort_keys=False), status)
    t0 = 1_767_225_600.0 + (3600 if r == 8 else 0)  # fixed times: 2026-01-01 UTC
    with run.event_writer() as events:
        for step in range(1, 31):
            events.emit("metric", step=step, split="train", time=t0 + 3 * step,
                        values={"loss": round(loss * 30 / step, 4), "learning_rate": lr})
            if step % 10 == 0:
                events.emit("metric", step=step, split="eval", time=t0 + 3 * step + 1,
                            values={"eval_loss": round(loss * 33 / step, 4)})
        events.emit("status", state="succeeded", time=t0 + 92)
    run.write_status(status)


async def capture_launch(out: Path, timeout: float, size: tuple[int, int]) -> list[Path]:
    from textual.widgets import Input, Select

    from tailor.engine.config import load_settings
    from tailor.engine.workspace import Workspace
    from tailor.tui.app import TailorApp
    from tailor.tui.screens.launch import GpuBudget

    workspace = Workspace(Path(os.environ["TAILOR_WORKSPACE"]) / f"{size[0]}x{size[1]}").ensure()
    finished_run(workspace, "demo-sft-20260101-000000-a1b2", 16, 3e-3, 0.29)
    finished_run(workspace, "demo-sft-20260101-010000-c3d4", 8, 1e-3, 0.41)
    workspace.config_file.write_text("hosts:\n  gpu-box: {hostname: 127.0.0.1, port: 9, user: me, agent: false}\n")
    app = TailorApp(workspace, load_settings(workspace=workspace.root, tui={"rescan_s": 1.0}))
    written: list[Path] = []
    suffix = f"-{size[0]}x{size[1]}.svg"

    async def until(pilot, predicate, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            await pilot.pause(0.1)
        await pilot.pause(0.3)

    def save(name: str) -> None:
        app.save_screenshot(filename=name + suffix, path=str(out))
        written.append(out / (name + suffix))

    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await until(pilot, lambda: getattr(screen, "scans", 0) >= 1 and screen.table.row_count == 2, "the runs")
        await pilot.press("n")
        await until(pilot, lambda: getattr(app.screen, "current", None) is not None, "the launch form")
        form = app.screen
        form.set_gpu_budget(GpuBudget("local", cpu=True))  # the same picture on a GPU machine
        await until(pilot, lambda: "gpu-box" in form.host_errors and form.fit is not None, "the host probe")
        form.host_errors["gpu-box"] = "connection refused"  # the OS's wording varies
        form.set_gpu_budget(form.budgets["gpu-box"], "gpu-box")
        form.query_one("#launch-host", Select).focus()
        await pilot.press("enter")
        save("launch-hosts")
        await pilot.press("escape")
        form.query_one("#launch-model", Input).value = "tailor/tinyy"
        form.query_one("#launch-r", Input).value = "eight"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.query_one("#launch-model-error").display, "the inline messages")
        save("launch-errors")
        form.query_one("#launch-model", Input).value = ""
        form.query_one("#launch-r", Input).value = ""
        form.query_one("#launch-recipes").highlighted = next(i for i, p in enumerate(form.recipes) if p.stem == "demo-dpo")
        await until(pilot, lambda: form.current.path.stem == "demo-dpo", "the DPO recipe")
        picker = form.query_one("#launch-from_run", Select)
        await until(pilot, lambda: any(v == "demo-sft-20260101-000000-a1b2" for _l, v in picker._options), "the runs")
        picker.value = "demo-sft-20260101-000000-a1b2"
        save("launch-chained")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: type(app.screen).__name__ == "RecipePreviewScreen", "the preview")
        save("launch-preview")
        await pilot.press("q")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the Runs screen")
        await pilot.press("space", "space", "c")
        await until(pilot, lambda: len(getattr(app.screen, "settings", {})) == 2, "Compare")
        save("compare")
    return written
