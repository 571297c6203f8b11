"""Event latency over SSH: a real tiny SFT run on 127.0.0.1 through a throwaway OpenSSH server.

    python bench/remote.py [--steps 20] [--kill]

Launches the demo recipe on host ``bench`` (this machine, over SSH), follows it, and reports the delay
between the worker writing each event (its ``time``) and this client receiving it: p50 / p95 / max.
``--kill`` also drops every SSH connection mid-run and reports the reconnect gap separately (events
written during the outage arrive late by design; none may be lost or repeated). Exit status 1 when the
p95 is 1 s or more.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.remote.sshd import LocalSSHD
from tailor.engine.workspace import Workspace


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def bench(steps: int, kill: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="tailor-bench-remote-") as tmp:
        root = Path(tmp)
        sshd = LocalSSHD(root / "sshd").setup().start()
        try:
            ws = Workspace(root / "ws").ensure()
            known = root / "known_hosts"
            known.write_text(sshd.known_hosts_line())
            (root / "ssh_config").write_text("")
            ws.config_file.write_text(
                yaml.safe_dump(
                    {
                        "ssh": {"config": str(root / "ssh_config"), "known_hosts": str(known)},
                        "hosts": {
                            "bench": {
                                "hostname": "127.0.0.1",
                                "port": sshd.port,
                                "user": sshd.user,
                                "identity_file": [str(sshd.client_key)],
                                "agent": False,
                                "python": sys.executable,
                                "workdir": str(root / "remote"),
                            }
                        },
                    }
                )
            )
            ex = SSHExecutor.for_host(ws, "bench")
            overrides = {
                "train.max_steps": steps,
                "train.logging_steps": 1,
                "train.eval_steps": max(steps // 2, 1),
                "train.save_steps": steps,
            }
            t0 = time.time()
            status = await ex.launch(ws.recipes_dir / "demo-sft.yaml", overrides=overrides)
            launch_s = time.time() - t0
            latencies, outage, seqs = [], [], []
            killed_at: float | None = None
            follow_start = time.time()
            async for event in ex.follow(status.run_id):
                now = time.time()
                seqs.append(event["seq"])
                delay = now - event["time"]
                if event["time"] < follow_start:
                    continue  # written before we started following (e.g. "queued" during launch)
                (outage if killed_at and event["time"] < killed_at + 30 and delay > 1 else latencies).append(
                    delay
                )
                if (
                    kill
                    and killed_at is None
                    and event["type"] == "metric"
                    and event.get("step", 0) >= steps // 3
                ):
                    sshd.kill_sessions()
                    killed_at = time.time()
            final = await ex.status(status.run_id)
            await ex.close()
        finally:
            sshd.stop()
    ok_seq = seqs == list(range(1, len(seqs) + 1))
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(f"run {status.run_id}: {final.state.value}, launch returned in {launch_s:.2f}s")
    print(f"events: {len(seqs)} (seq contiguous, no duplicates: {ok_seq})")
    print(
        f"event latency over SSH: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    if kill:
        gap = max(outage) if outage else 0.0
        print(f"connection killed mid-run: {len(outage)} events delayed by the outage, worst {gap:.2f}s")
    return 0 if p95 < 1.0 and ok_seq and final.state.value == "succeeded" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--kill", action="store_true", help="drop the SSH connections once mid-run")
    args = parser.parse_args()
    return asyncio.run(bench(args.steps, args.kill))


if __name__ == "__main__":
    sys.exit(main())
