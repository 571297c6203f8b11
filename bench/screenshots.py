"""Regenerate the README screenshots: the Runs screen mid-training (a real run of the demo recipe).

    python bench/screenshots.py [--steps 60] [--out docs/screenshots]

Works in a throw-away workspace and config (the model cache, $TAILOR_CACHE, is shared). The demo recipe is trimmed to
``--steps`` optimizer steps so the picture is taken within a few minutes on a laptop CPU; it is taken
once the run is past 60% with at least two eval points, so curves, progress, ETA and log all show.
Writes runs.svg (120x40), plus launch.svg and help.svg, and datasets.svg: the row browser open on the
demo data (``--only datasets`` takes just that one, without the training run); ``--only launch``: the
launch form (host picker, inline validation, chained launch, preview) and Compare, at 80x24 and 120x40
(bench/screenshots_launch.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout, whatever is installed
SIZE = (120, 40)


async def capture(out: Path, steps: int, timeout: float) -> list[Path]:
    import yaml

    from tailor.engine.config import load_settings
    from tailor.engine.workspace import Workspace
    from tailor.tui.app import TailorApp
    from tailor.tui.screens.runs import RunsScreen

    workspace = Workspace(Path(os.environ["TAILOR_WORKSPACE"])).ensure()
    recipe = workspace.recipes_dir / "demo-sft.yaml"
    data = yaml.safe_load(recipe.read_text())
    eval_every = max(1, steps // 5)
    data["train"].update(max_steps=steps, logging_steps=max(1, steps // 30), eval_steps=eval_every,
                         save_steps=steps, per_device_train_batch_size=8)
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))

    app = TailorApp(workspace, load_settings(tui={"rescan_s": 1.0}))
    written: list[Path] = []

    async def until(pilot, predicate, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            await pilot.pause(0.2)
        await pilot.pause()

    def save(name: str) -> None:
        path = out / name
        app.save_screenshot(filename=name, path=str(out))
        written.append(path)

    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await until(pilot, lambda: screen.scans >= 1 and screen.detail is not None, "the Runs screen")
        await pilot.press("n")
        await until(pilot, lambda: getattr(app.screen, "current", None) is not None, "the launch form")
        save("launch.svg")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen and screen.store.runs, "the launched run")
        info = next(iter(screen.store.runs.values()))

        def mid_training() -> bool:
            step, total = info.progress()
            return bool(total) and step >= 0.6 * total and len(info.eval_loss) >= 2 and info.state.value == "running"

        await until(pilot, mid_training, "the run to pass 60% with two eval points")
        await until(pilot, lambda: screen.detail.log_pane.pending == 0 and screen.table.painted, "a settled frame")
        save("runs.svg")
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "the help screen")
        save("help.svg")
        await pilot.press("escape")
        from tailor.engine.executors.local import LocalExecutor

        # Do not leave a worker training: cancel it and wait for it to stop writing into the folder.
        await LocalExecutor(workspace).cancel(info.run_id, wait=120.0)
    return written


async def capture_datasets(out: Path, timeout: float) -> list[Path]:
    """The Datasets screen's row browser on the demo data (data/reverse/train.jsonl), fully indexed."""
    from tailor.engine.config import load_settings
    from tailor.engine.workspace import Workspace
    from tailor.tui.app import TailorApp
    from tailor.tui.screens.datasets import BrowserScreen, DatasetsScreen

    workspace = Workspace(Path(os.environ["TAILOR_WORKSPACE"])).ensure()
    demo = "data/reverse/train.jsonl"  # opened relative to the workspace: the header shows this, not a temp path
    rows = sum(1 for _ in (workspace.root / demo).open())
    app = TailorApp(workspace, load_settings(tui={"start_screen": "datasets"}))

    async def until(pilot, predicate, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            await pilot.pause(0.1)
        await pilot.pause()

    def indexed() -> bool:
        browser = app.screen
        return (
            isinstance(browser, BrowserScreen)
            and browser.source is not None
            and browser.source.done
            and browser._timer is None  # the last tick ran: the header no longer says "indexing"
            and browser.table.row_count == rows
            and not [w for w in app.workers if w.group.startswith("datasets.") and w.is_running]
        )

    with contextlib.chdir(workspace.root):
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DatasetsScreen), "the Datasets screen")
            app.screen.open(demo)
            await until(pilot, indexed, "the demo data in the row browser")
            app.save_screenshot(filename="datasets.svg", path=str(out))
    return [out / "datasets.svg"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps of the demo run")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for each stage")
    parser.add_argument("--only", choices=["runs", "datasets", "launch"], help="take only these screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tailor-shots-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        (root / "config.toml").write_text("")
        os.environ.update(TAILOR_CONFIG=str(root / "config.toml"), TAILOR_WORKSPACE=str(root / "ws"),
                          HF_HUB_OFFLINE="1", TZ=os.environ.get("TZ", "UTC"))
        time.tzset()
        written: list[Path] = []
        if args.only in (None, "runs"):
            written += asyncio.run(capture(args.out.resolve(), args.steps, args.timeout))
        if args.only in (None, "datasets"):
            written += asyncio.run(capture_datasets(args.out.resolve(), args.timeout))
        if args.only in (None, "launch"):
            from screenshots_launch import SIZES, capture_launch  # beside this script

            for size in SIZES:
                written += asyncio.run(capture_launch(args.out.resolve(), args.timeout, size))
        for path in written:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
