"""An idle GPU is visible (engine/runs/gpu_idle.py): worker samples -> ``gpu_idle_since`` in the heartbeat ->
``stalled (GPU idle 6 min)`` in listings and the Runs screen. No GPU here: the samples are nvidia-smi CSV
lines written out by hand in its format, and a live run is this test process with an idle heartbeat. The Runs screen's side:
tests/tui/test_tui_runs_keys.py::test_the_runs_screen_shows_and_notifies_an_idle_gpu."""

from __future__ import annotations

import os
import time

from click.testing import CliRunner
from run_helpers import running_run

from tailor.engine.runs.gpu_idle import IdleTracker, parse_smi
from tailor.engine.runs.status import RunState

# (seconds, nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits) on 2 GPUs
SAMPLES = [
    (0, "0, 97, 30512\n1, 12, 600"),     # training
    (10, "0, 0, 30512\n1, 12, 600"),    # GPU 0 went idle, memory held
    (20, "0, 3, 30512\n1, 12, 600"),    # still idle (a few percent is the monitor)
    (30, "0, 88, 30512\n1, 12, 600"),   # back to work
    (40, "0, 0, 30512\n1, 12, 600"),    # idle again
    (50, "0, 0, 30512\n1, 12, 600"),
    (60, "0, 0, 0\n1, 0, 0"),           # idle, but the memory was given back: not a held GPU
]


def test_recorded_samples_give_the_start_of_the_idle_spell() -> None:
    tracker = IdleTracker()
    seen = [tracker.update(parse_smi(text, t, visible="0")) for t, text in SAMPLES]
    assert seen == [None, 10, 10, None, 40, 40, None]
    both = parse_smi(SAMPLES[1][1], 10)  # no CUDA_VISIBLE_DEVICES: every GPU, the busiest decides
    assert both is not None and (both.util_pct, both.memory_mib, both.idle) == (12.0, 31112.0, False)
    assert parse_smi("0, [N/A], [N/A]", 0) is None and parse_smi("", 0) is None
    assert IdleTracker().update(None) is None  # no GPU: the heartbeat alone tells liveness


def test_an_idle_spell_past_the_timeout_is_a_stall_in_tailor_runs(workspace) -> None:
    from tailor.tui.cli import cli

    run = running_run(workspace, idle_for=60)
    assert run.effective_status().state_label == "running"  # a minute: not yet
    run.beat(os.getpid(), 120, gpu_idle_since=time.time() - 361)
    status = run.effective_status(gpu_idle_timeout=300)
    assert status.state == RunState.RUNNING and status.state_label == "stalled (GPU idle 6 min)"
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "runs"])
    assert out.exit_code == 0 and "stalled (GPU idle 6 min)" in out.output
    run.beat(os.getpid(), 121)  # busy again: the next beat carries no idle spell
    assert run.effective_status().gpu_idle_s is None


def test_the_heartbeats_sample_survives_torch_being_imported_beside_it() -> None:
    """A fresh worker's heartbeat thread samples while the main thread is still importing torch: it saw a
    half-initialised module (AttributeError: no attribute 'cuda') and the heartbeat thread died."""
    import subprocess
    import sys

    script = (
        "import threading, time\n"
        "from tailor.engine.runs.gpu_idle import sample_gpus\n"
        "errors, done = [], threading.Event()\n"
        "def beat():\n"
        "    while not done.is_set():\n"
        "        try: sample_gpus(time.time())\n"
        "        except Exception as exc: errors.append(repr(exc)); return\n"
        "t = threading.Thread(target=beat); t.start()\n"
        "import torch\n"
        "done.set(); t.join()\n"
        "print(errors or 'ok')\n"
    )
    env = {**__import__("os").environ, "PATH": "/nonexistent"}  # no nvidia-smi: torch's view is what is sampled
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]
