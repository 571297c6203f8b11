"""bench/gpu.sh --cpu: the GPU bench at test size (a tiny Llama, LoRA, 3 steps) prints its table, and it is sane.

The GPU variant (an 8B-shaped Llama, LoRA and QLoRA) needs one H100; this runs the same script end to end:
model built from a config and saved, Tailor's worker and a plain TRL script on it, the table and summaries.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # about 40 s of CPU: two training processes and the model build
def test_cpu_variant_prints_a_sane_table() -> None:
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(REPO / "bench" / "gpu.sh"), "--cpu"], capture_output=True, text=True, env=env,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("side "))
    assert lines[start].split()[1:] == ["method", "tokens/s", "peak", "GPU", "GiB", "estimate", "GiB", "peak/est", "RSS", "GiB"]
    rows = {}
    for line in lines[start + 1 : start + 3]:
        method, tps, peak, estimate, ratio, rss = line[22:].split()
        rows[line[:22].strip()] = (method, float(tps), peak, estimate, ratio, float(rss))
    assert set(rows) == {"Tailor (defaults)", "plain TRL (defaults)"}
    for side, (method, tps, peak, _, ratio, rss) in rows.items():
        assert method == "lora" and tps > 0 and 0.05 < rss < 8, (side, rows[side])
        assert peak == "-" and ratio == "-"  # no GPU: no peak to set against the estimate
    assert float(rows["Tailor (defaults)"][3]) > 0 and rows["plain TRL (defaults)"][3] == "-"
    speedup = re.search(r"^Tailor / TRL tokens/s, lora: ([\d.]+)x$", proc.stdout, re.M)
    assert speedup, proc.stdout
    ours, theirs = rows["Tailor (defaults)"][1], rows["plain TRL (defaults)"][1]
    assert float(speedup.group(1)) == pytest.approx(ours / theirs, abs=0.01)
    assert "3 steps" in proc.stdout and "fit estimate" not in proc.stdout  # the 10% verdict is the GPU's
