"""The headless run lifecycle through the real CLI and a real worker on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def tailor(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tailor", "-w", str(ws.root), *args],
        capture_output=True, text=True, timeout=600, env=dict(os.environ),
    )


def test_run_follow_list_and_logs(workspace) -> None:
    out = tailor(workspace, "run", "demo-sft", "-s", "train.max_steps=6", "-s", "train.logging_steps=2",
                 "-s", "train.eval_steps=3", "-s", "train.save_steps=3", "-f")
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.splitlines()[0]
    assert run_id.startswith("demo-sft-")
    assert f"{run_id}: succeeded" in out.stderr
    assert "train step 6: loss=" in out.stdout

    listed = [json.loads(line) for line in tailor(workspace, "runs", "--json").stdout.splitlines()]
    (status,) = [s for s in listed if s["run_id"] == run_id]
    assert status["state"] == "succeeded" and status["step"] == 6 and status["total_steps"] == 6
    assert "loss" in status["latest"] and "eval_loss" in status["latest"]
    assert status["links"]["overrides"]["train.max_steps"] == 6

    events = [json.loads(line) for line in tailor(workspace, "logs", run_id[:14], "--json").stdout.splitlines()]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    assert {"status", "metric", "checkpoint", "artifact"} <= {e["type"] for e in events}
    tail = tailor(workspace, "logs", run_id, "--after", str(seqs[-3]), "--json").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in tail] == seqs[-2:]

    again = tailor(workspace, "resume", run_id)
    assert again.returncode == 2 and "already succeeded" in again.stderr
    cancel = tailor(workspace, "cancel", run_id)
    assert cancel.returncode == 2 and "already succeeded; nothing to cancel" in cancel.stderr
