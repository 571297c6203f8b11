"""Benchmark: browse a 1M-row gzipped JSONL lazily, beside datasets.load_dataset on the same file.

    .venv/bin/python bench/browse_compressed.py [--rows 1000000] [--path FILE.jsonl.gz] [--skip-others]

The rows are bench/browse.py's (about 500 bytes each), gzipped once. Tailor unpacks the stream in a
background thread into an unlinked temporary file and indexes lines as they arrive, so the first page
does not wait for the rest of the file. Target: first page <= 1 s. Each reader runs in its own subprocess
(peak RSS per reader).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browse import DATASETS, TUI, generate, measure

TAILOR = """
import json, resource, sys, time
t0 = time.perf_counter()
from tailor.engine.data.browse import open_rows
src = open_rows(sys.argv[1])
src.wait_rows(50)
page = src.records(0, 50)
first = time.perf_counter() - t0
assert page[0].data["id"] == 0, page[0]
src.wait()
indexed = time.perf_counter() - t0
t1 = time.perf_counter()
jump = src.records(900_000, 50)
jump_s = time.perf_counter() - t1
assert jump[0].data["id"] == 900_000, jump[0]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first_page_s": first, "indexed_s": indexed, "jump_s": jump_s, "rows": len(src),
                  "peak_rss_mb": rss}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "tailor-bench-1m.jsonl.gz")
    parser.add_argument("--skip-others", action="store_true", help="only measure Tailor")
    parser.add_argument("--skip-tui", action="store_true", help="skip the Pilot-driven TUI run")
    args = parser.parse_args()
    if args.rows <= 900_000:
        parser.error("--rows must be above 900,000 (the benchmark jumps to row 900,000)")
    if not args.path.exists():
        t = time.perf_counter()
        plain = args.path.with_suffix("")  # x.jsonl.gz -> x.jsonl
        if not plain.exists():
            generate(plain, args.rows)
        with plain.open("rb") as src, gzip.open(args.path.with_suffix(".tmp"), "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        args.path.with_suffix(".tmp").rename(args.path)
        print(f"generated {args.path} in {time.perf_counter() - t:.1f} s")
    print(f"file: {args.path} ({args.path.stat().st_size / 1e6:.0f} MB gzipped)")
    results = [measure("tailor browser (engine)", TAILOR, args.path)]
    if not args.skip_tui:
        results.append(measure("tailor TUI (Pilot)", TUI, args.path))
    if not args.skip_others:
        results.append(measure("datasets.load_dataset", DATASETS, args.path))
    print(
        f"{'reader':24} {'first page s':>12} {'all rows s':>10} {'jump 900k s':>12} {'peak RSS MB':>12} {'rows':>9}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['name']:24} error: {r['error']}")
            continue
        indexed = f"{r['indexed_s']:.2f}" if "indexed_s" in r else f"{r['first_page_s']:.2f}"
        print(
            f"{r['name']:24} {r['first_page_s']:12.3f} {indexed:>10} {r['jump_s']:12.4f} "
            f"{r['peak_rss_mb']:12.0f} {r['rows']:9d}"
        )
    ours = results[0]
    if "error" not in ours:
        print("tailor: first page <= 1 s:", "met" if ours["first_page_s"] <= 1 else "NOT met")


if __name__ == "__main__":
    main()
