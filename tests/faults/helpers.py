"""Helpers of the fault-injection tests: the real CLI, run directories, event accounting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tailor.engine.runs.liveness import pid_alive
from tailor.engine.runs.rundir import RunDir

REPO = Path(__file__).resolve().parents[2]


def tailor(ws: Any, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tailor", "-w", str(ws.root), *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO,
    )


def tailor_bg(ws: Any, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tailor", "-w", str(ws.root), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=REPO,
    )


def tick_recipe(ws: Any, name: str = "tick", **fields: Any) -> Path:
    body = {"kind": "tick", "name": name, "steps": 40, "step_s": 0.05, "eval_every": 5, "save_every": 5, **fields}
    path = ws.recipes_dir / f"{name}.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in body.items()))
    return path


def raw_events(run: RunDir) -> list[dict]:
    """Every parseable line of events.jsonl, as written (no de-duplication by the reader)."""
    out = []
    for line in run.events_file.read_bytes().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def duplicates(run: RunDir) -> dict[str, int]:
    """Counts of what was written twice: seq values, and step events (metric split/step, checkpoint step)."""
    events = raw_events(run)
    seqs = Counter(e.get("seq") for e in events)
    steps = Counter(
        (e["type"], e.get("split"), e["step"]) for e in events if e.get("type") in ("metric", "checkpoint")
    )
    return {
        "seq": sum(n - 1 for n in seqs.values() if n > 1),
        "steps": sum(n - 1 for n in steps.values() if n > 1),
        "out_of_order": sum(1 for a, b in zip(events, events[1:], strict=False) if b.get("seq", 0) <= a.get("seq", 0)),
    }


def lost_steps(run: RunDir, steps: int, eval_every: int) -> list[str]:
    """Train steps 1..steps and eval steps that never reached events.jsonl."""
    events = raw_events(run)
    train = {e["step"] for e in events if e.get("type") == "metric" and e.get("split") == "train"}
    evals = {e["step"] for e in events if e.get("type") == "metric" and e.get("split") == "eval"}
    lost = [f"train {s}" for s in range(1, steps + 1) if s not in train]
    lost += [f"eval {s}" for s in range(eval_every, steps + 1, eval_every) if s not in evals]
    return lost


def workers_of(run: RunDir) -> list[int]:
    """Live ``tailor.engine.worker`` processes whose command line names this run directory."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"tailor.engine.worker" in cmd and str(run.path).encode() in cmd and pid_alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


def kill_worker(run: RunDir, sig: int = signal.SIGKILL, timeout: float = 10) -> None:
    status = run.read_status()
    assert status.pid
    os.killpg(status.pgid or status.pid, sig)
    deadline = time.monotonic() + timeout
    while pid_alive(status.pid, status.pid_start) and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_step(run: RunDir, step: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if run.read_status().step >= step:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(f"run never reached step {step}")


def wait_state(run: RunDir, *states: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    state = "?"
    while time.monotonic() < deadline:
        state = run.effective_status().state.value
        if state in states:
            return state
        time.sleep(0.1)
    raise AssertionError(f"run stayed {state}, expected {states}")
