"""Benchmark: browse a 1M-row (~0.5 GB) JSONL lazily, beside datasets.load_dataset and pandas.read_json.

    .venv/bin/python bench/browse.py [--rows 1000000] [--path FILE] [--skip-others] [--tui-runs N]
    .venv/bin/python bench/browse.py --rows 10000000      # 10M rows, ~5 GB in the temp folder

Generates the file once (deterministic), then runs each reader in its own subprocess so that peak resident
memory (ru_maxrss) is measured per reader; each jumps to the row 90% of the way in (900,000 of 1M). A peer
whose estimated peak memory exceeds half the available memory is skipped (pandas beyond ~1 GB of JSONL).
Targets: Tailor's engine: first page <= 0.2 s, jump <= 10 ms, peak RSS <= 200 MB (at 10M rows too);
its TUI: first page <= 1 s, jump <= 0.3 s once indexing ends, peak RSS < 500 MB. ``--tui-runs 20`` repeats
the TUI row (a jump issued as indexing ends must land every time) and counts the runs that landed.
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
    """Alpaca-style rows of about 500 bytes each: an id and one of 65,536 random bodies (10M rows in ~1 min)."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(min(rows, 65536)):
        body = {
            "instruction": " ".join(rng.choices(WORDS, k=rng.randint(8, 20))),
            "input": " ".join(rng.choices(WORDS, k=rng.randint(0, 12))),
            "output": " ".join(rng.choices(WORDS, k=rng.randint(40, 70))),
            "score": round(rng.random(), 4),
        }
        bodies.append(json.dumps(body)[1:])  # without its "{": the id goes first
    picks = [rng.randrange(len(bodies)) for _ in range(min(rows, 1 << 20))]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for start in range(0, rows, 65536):
            fh.write(
                "".join(
                    f'{{"id": {i}, {bodies[picks[i % len(picks)]]}\n'
                    for i in range(start, min(rows, start + 65536))
                )
            )
    tmp.rename(path)


TAILOR = """
import json, resource, sys, time
t0 = time.perf_counter()
from tailor.engine.data.browse import open_rows
src = open_rows(sys.argv[1])
JUMP = int(sys.argv[2]) if len(sys.argv) > 2 else 900_000
src.wait_rows(50)
page = src.records(0, 50)
first = time.perf_counter() - t0
ticks = []
while not src.wait(timeout=0.2):
    ticks.append(round(src.progress, 2))
indexed = time.perf_counter() - t0
t1 = time.perf_counter()
jump = src.records(JUMP, 50)
jump_s = time.perf_counter() - t1
assert jump[0].data["id"] == JUMP, jump[0]
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
JUMP = int(sys.argv[2]) if len(sys.argv) > 2 else 900_000

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
        browser.table.move_to(JUMP)  # at once: indexing may have ended after the table's last look at it
        while not shows(JUMP + 1):
            if time.perf_counter() - t1 > 30:
                raise SystemExit(f"the jump to row {JUMP + 1:,} did not land in 30 s (view at row "
                                 f"{round(browser.table.scroll_y) + 1:,}, cursor {browser.table.cursor_row + 1:,})")
            await pilot.pause(0.005)
        jump = time.perf_counter() - t1
        assert browser.table.current[1].data["id"] == JUMP
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
    t1 = time.perf_counter(); row = ds[int(sys.argv[2])]; jump = time.perf_counter() - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_page_s": loaded, "jump_s": jump, "rows": len(ds), "peak_rss_mb": rss}))
"""

PANDAS = """
import json, resource, sys, time
t0 = time.perf_counter()
import pandas as pd
df = pd.read_json(sys.argv[1], lines=True)
loaded = time.perf_counter() - t0
t1 = time.perf_counter(); row = df.iloc[int(sys.argv[2])].to_dict(); jump = time.perf_counter() - t1
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first_page_s": loaded, "jump_s": jump, "rows": len(df), "peak_rss_mb": rss}))
"""


# estimated peak memory per byte of JSONL (measured on the 1M-row file: 324 MB and 3,514 MB for 0.5 GB)
PEAK_PER_BYTE = {"datasets.load_dataset": 0.7, "pandas.read_json": 7.1}


def measure(name: str, code: str, path: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), *args],
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


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes (0 where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def met(r: dict, first: float, jump: float, rss: float) -> str:
    ok = r["first_page_s"] <= first and r["jump_s"] <= jump and r["peak_rss_mb"] <= rss
    return f"{r['name']}: targets (first page <= {first} s, jump <= {jump} s, RSS <= {rss} MB): " + (
        "met" if ok else "NOT met"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, help="the JSONL file (default: generated in the temp folder)")
    parser.add_argument("--skip-others", action="store_true", help="only measure Tailor's browser")
    parser.add_argument("--tui-runs", type=int, default=1, help="run the TUI row this many times")
    args = parser.parse_args()
    if args.rows < 1000:
        parser.error("--rows must be at least 1,000")
    name = f"{args.rows // 1_000_000}m" if args.rows % 1_000_000 == 0 else str(args.rows)
    path = args.path or Path(tempfile.gettempdir()) / f"tailor-bench-{name}.jsonl"
    if not path.exists():
        t = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s")
    size = path.stat().st_size
    jump = str(args.rows * 9 // 10)
    print(f"file: {path} ({size / 1e6:,.0f} MB, {args.rows:,} rows); jumps to row {int(jump):,}")
    results = [measure("tailor browser (engine)", TAILOR, path, jump)]
    tui = [measure("tailor TUI (Pilot)", TUI, path, jump) for _ in range(max(1, args.tui_runs))]
    landed = [r for r in tui if "error" not in r]
    results.append(sorted(landed, key=lambda r: r["jump_s"])[len(landed) // 2] if landed else tui[0])
    if not args.skip_others:
        for peer, code in (("datasets.load_dataset", DATASETS), ("pandas.read_json", PANDAS)):
            need = PEAK_PER_BYTE[peer] * size
            if need > available_memory() / 2:
                results.append({"name": peer, "error": f"skipped: would need ~{need / 1e9:.1f} GB of memory"})
            else:
                results.append(measure(peer, code, path, jump))
    print(
        f"{'reader':24} {'first page s':>12} {'indexed s':>10} {'jump s':>12} {'peak RSS MB':>12} {'rows':>10}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['name']:24} {r['error']}")
            continue
        indexed = f"{r['indexed_s']:.2f}" if "indexed_s" in r else "-"
        print(
            f"{r['name']:24} {r['first_page_s']:12.3f} {indexed:>10} {r['jump_s']:12.4f} "
            f"{r['peak_rss_mb']:12.0f} {r['rows']:10d}"
        )
    if "progress_ticks" in results[0]:
        print(f"progress while indexing: {results[0]['progress_ticks'][:8]}")
    if args.tui_runs > 1:
        failed = [r["error"] for r in tui if "error" in r]
        print(
            f"TUI runs: {len(landed)} of {len(tui)} landed the jump"
            + (f"; first failure: {failed[0]}" if failed else "")
        )
    if "error" not in results[0]:
        print(met(results[0], 0.2, 0.01, 200))
    if "error" not in results[1]:
        print(met(results[1], 1, 0.3, 500))


if __name__ == "__main__":
    main()
