"""Benchmark: browse a 1M-row (~0.5 GB) JSONL lazily, beside datasets.load_dataset and pandas.read_json.

    .venv/bin/python bench/browse.py [--rows 1000000] [--path FILE] [--skip-others]

Generates the file once (deterministic), then runs each reader in its own subprocess so that peak resident
memory (ru_maxrss) is measured per reader. Targets for Tailor's browser: first page <= 1 s, a jump to row
900,000 <= 0.3 s once indexing ends, peak RSS < 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = [
    "the",
    "model",
    "learns",
    "a",
    "task",
    "from",
    "examples",
    "and",
    "data",
    "quality",
    "matters",
    "more",
    "than",
    "size",
    "so",
    "check",
    "every",
    "row",
    "for",
    "duplicates",
    "empty",
    "fields",
    "and",
    "long",
    "prompts",
    "before",
    "you",
    "train",
    "on",
    "a",
    "small",
    "budget",
    "with",
    "adapters",
]


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Alpaca-style rows of about 500 bytes each."""
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            row = {
                "id": i,
                "instruction": " ".join(rng.choices(WORDS, k=rng.randint(8, 20))),
                "input": " ".join(rng.choices(WORDS, k=rng.randint(0, 12))),
                "output": " ".join(rng.choices(WORDS, k=rng.randint(40, 70))),
                "score": round(rng.random(), 4),
            }
            fh.write(json.dumps(row) + "\n")
    tmp.rename(path)


TAILOR = """
import json, resource, sys, time
t0 = time.perf_counter()
from tailor.engine.data.browse import open_rows
src = open_rows(sys.argv[1])
src.wait_rows(50)
page = src.records(0, 50)
first = time.perf_counter() - t0
ticks = []
while not src.wait(timeout=0.2):
    ticks.append(round(src.progress, 2))
indexed = time.perf_counter() - t0
t1 = time.perf_counter()
jump = src.records(900_000, 50)
jump_s = time.perf_counter() - t1
assert jump[0].data["id"] == 900_000, jump[0]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first_page_s": first, "indexed_s": indexed, "jump_s": jump_s, "rows": len(src),
                  "peak_rss_mb": rss, "progress_ticks": ticks}))
"""

TUI = """
import asyncio, json, os, resource, sys, tempfile, time
from pathlib import Path
tmp = Path(tempfile.mkdtemp())
(tmp / "config.toml").write_text("")
os.environ["TAILOR_CONFIG"] = str(tmp / "config.toml")
from tailor.engine.config import load_settings
from tailor.engine.workspace import Workspace
from tailor.tui.app import TailorApp
from tailor.tui.screens.datasets import BrowserScreen

async def main():
    ws = Workspace(tmp / "ws").ensure()
    app = TailorApp(ws, load_settings(workspace=ws.root))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1")  # the Datasets screen, as a user would open it
        await pilot.pause(2.0)  # let the app finish starting
        t0 = time.perf_counter()
        browser = BrowserScreen(sys.argv[1])
        app.push_screen(browser)
        def shows(line_no):  # a body line painted with this file line (the Line API's render_line)
            table = browser.table
            if table.size.height < 2 or table.row_count == 0:
                return False
            return any(table.render_line(y).text.split()[:1] == [str(line_no)] for y in range(1, table.size.height))

        while not (browser.source is not None and shows(1)):
            await pilot.pause(0.02)
        first = time.perf_counter() - t0
        while not browser.source.done:
            await pilot.pause(0.05)
        indexed = time.perf_counter() - t0
        t1 = time.perf_counter()
        browser.table.move_to(900_000)
        while not shows(900_001):
            await pilot.pause(0.005)
        jump = time.perf_counter() - t1
        assert browser.table.current[1].data["id"] == 900_000
        rows = browser.table.row_count
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_page_s": first, "indexed_s": indexed, "jump_s": jump, "rows": rows, "peak_rss_mb": rss}))

asyncio.run(main())
"""

DATASETS = """
import json, resource, sys, time, tempfile
t0 = time.perf_counter()
import datasets
datasets.disable_progress_bars()
with tempfile.TemporaryDirectory() as cache:
    ds = datasets.load_dataset("json", data_files=sys.argv[1], split="train", cache_dir=cache)
    loaded = time.perf_counter() - t0
    t1 = time.perf_counter(); row = ds[900_000]; jump = time.perf_counter() - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_page_s": loaded, "jump_s": jump, "rows": len(ds), "peak_rss_mb": rss}))
"""

PANDAS = """
import json, resource, sys, time
t0 = time.perf_counter()
import pandas as pd
df = pd.read_json(sys.argv[1], lines=True)
loaded = time.perf_counter() - t0
t1 = time.perf_counter(); row = df.iloc[900_000].to_dict(); jump = time.perf_counter() - t1
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first_page_s": loaded, "jump_s": jump, "rows": len(df), "peak_rss_mb": rss}))
"""


def measure(name: str, code: str, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=1800,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"name": name, "error": tail[0]}
    return {"name": name, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "tailor-bench-1m.jsonl")
    parser.add_argument("--skip-others", action="store_true", help="only measure Tailor's browser")
    args = parser.parse_args()
    if args.rows <= 900_000:
        parser.error("--rows must be above 900,000 (the benchmark jumps to row 900,000)")
    if not args.path.exists():
        t = time.perf_counter()
        generate(args.path, args.rows)
        print(f"generated {args.path} in {time.perf_counter() - t:.1f} s")
    size = args.path.stat().st_size / 1e6
    print(f"file: {args.path} ({size:.0f} MB)")
    results = [
        measure("tailor browser (engine)", TAILOR, args.path),
        measure("tailor TUI (Pilot)", TUI, args.path),
    ]
    if not args.skip_others:
        results.append(measure("datasets.load_dataset", DATASETS, args.path))
        results.append(measure("pandas.read_json", PANDAS, args.path))
    print(
        f"{'reader':24} {'first page s':>12} {'indexed s':>10} {'jump 900k s':>12} {'peak RSS MB':>12} {'rows':>9}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['name']:24} error: {r['error']}")
            continue
        indexed = f"{r['indexed_s']:.2f}" if "indexed_s" in r else "-"
        print(
            f"{r['name']:24} {r['first_page_s']:12.3f} {indexed:>10} {r['jump_s']:12.4f} "
            f"{r['peak_rss_mb']:12.0f} {r['rows']:9d}"
        )
    if "progress_ticks" in results[0]:
        print(f"progress while indexing: {results[0]['progress_ticks'][:8]}")
    for ours in results[:2]:
        if "error" not in ours:
            ok = ours["first_page_s"] <= 1 and ours["jump_s"] <= 0.3 and ours["peak_rss_mb"] < 500
            print(
                f"{ours['name']}: targets (first page <= 1 s, jump <= 0.3 s, RSS < 500 MB):",
                "met" if ok else "NOT met",
            )


if __name__ == "__main__":
    main()
