"""A workspace as searches grow it: many finished runs and one live run, in the TUI, `tailor runs` and `ls`.

Writes a throw-away workspace of ``--runs`` finished runs (recipe, status, a short event history each) and
one live run whose stand-in worker (a child process that writes events through the run-directory API,
beats its heartbeat and notes when it wrote each step) first steps every half second, then goes quiet.
Then, as peers, one after the other:

* ``ls -l runs/``: a plain directory listing of the runs folder;
* ``tailor runs`` twice (the first builds the run index, the second reads it);
* ``tailor`` in a pseudo-terminal (120x40): seconds from spawn until the first run's row is on the
  terminal, then ``G`` selects the live run: latency from each step written to that step on the
  terminal, CPU while it steps, CPU while everything is idle (the live worker quiet but beating), and
  memory (RSS now, peak).

The same TUI figures for a workspace of 4 runs give "its usual latency" and the idle baseline.

    python bench/workspace_scale.py [--runs 10000] [--json]

Targets (issue 26): with 10,000 finished runs the Runs table in under 1 s, idle under 2% of a core,
under 150 MB, live updates within the 4-run latency; `tailor runs` under 1 s. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
TOTAL = 999_999  # the live run's total steps: "1000xx/999999" appears nowhere else on screen
FIRST_STEP = 100_000
LIVE_STEP_S = 0.5
LIVE_STEPS = 16  # half-second steps while latency is measured, then quiet
IDLE_S = 10.0
SETTLE_S = 3.0
TIMEOUT_S = 120.0

RECIPE = """kind: sft
name: {name}
model: {{name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct}}
method: lora
lora: {{r: {r}, lora_alpha: 32}}
data: {{train: ../data/reverse/train.jsonl}}
train: {{learning_rate: {lr}, max_steps: 30}}
"""

WORKER = r"""
import json, os, sys, time
from tailor.engine.runs.liveness import process_start, this_host
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

run = RunDir(sys.argv[1]); first, total, n, step_s, quiet = (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                                                              float(sys.argv[5]), float(sys.argv[6]))
pid = os.getpid()
status = run.read_status().model_copy(update={"state": RunState.RUNNING, "pid": pid, "pid_start": process_start(pid),
                                              "host": this_host(), "started_at": time.time(), "total_steps": total})
run.write_status(status)
run.beat(pid, first)
written = open(run.path / "written.log", "a", buffering=1)
go = run.path / "go"
while not go.exists():  # start stepping once the bench says the TUI shows the run
    run.beat(pid, first); time.sleep(0.2)
with run.event_writer() as events:
    for i in range(n):
        step = first + i
        values = {"loss": 1.0 / (1 + i), "learning_rate": 1e-4}
        events.emit("metric", step=step, split="train", values=values)
        written.write(f"{step} {time.time()}\n")
        status = status.model_copy(update={"step": step, "latest": values})  # as a worker's progress() does
        run.write_status(status)
        run.beat(pid, step)
        time.sleep(step_s)
end = time.time() + quiet
while time.time() < end:  # alive and beating, but no events: the TUI has nothing to do
    run.beat(pid, first + n - 1); time.sleep(1.0)
"""


def run_id(i: int, stem: str = "scale") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(T0 + i * 60))
    return f"{stem}-{i:05d}-{stamp}-{i % 65536:04x}"


def make_workspace(root: Path, finished: int) -> tuple[Path, str]:
    """``finished`` succeeded runs plus one queued run the live worker takes over; returns (ws, live id)."""
    from tailor.engine.runs.status import RunState, Status
    from tailor.engine.workspace import Workspace

    ws = Workspace(root).ensure()
    for i in range(finished + 1):
        rid = run_id(i)
        path = ws.runs_dir / rid
        path.mkdir(mode=0o700)
        live = i == finished
        start = T0 + i * 60
        (path / "recipe.yaml").write_text(RECIPE.format(name=rid[:11], r=8 << (i % 3), lr=f"{1e-4 * (1 + i % 7):.1e}"))
        events = [{"seq": 1, "time": start - 1, "type": "status", "state": "queued"}]
        if not live:
            events.append({"seq": 2, "time": start, "type": "status", "state": "running"})
            for step in (10, 20, 30):
                events.append({"seq": len(events) + 1, "time": start + step, "type": "metric", "step": step,
                               "split": "train", "values": {"loss": 2.0 / step, "learning_rate": 1e-4}})
            events.append({"seq": len(events) + 1, "time": start + 31, "type": "status", "state": "succeeded"})
        (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        status = Status(run_id=rid, kind="sft", name=rid[:11], state=RunState.QUEUED if live else RunState.SUCCEEDED,
                        created_at=start - 1, started_at=None if live else start, ended_at=None if live else start + 31,
                        step=0 if live else 30, total_steps=30, latest={} if live else {"loss": 2.0 / 30})
        (path / "status.json").write_text(status.model_dump_json())
        for sub in ("checkpoints", "eval"):
            (path / sub).mkdir()
    return ws.root, run_id(finished)


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    text = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024
    peak = int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024
    return rss, peak


class Terminal:
    """A child process in a pseudo-terminal; ``wait_for`` reads its output until a pattern shows."""

    def __init__(self, cmd: list[str], env: dict[str, str], size: tuple[int, int] = (120, 40)) -> None:
        import fcntl

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.seen = b""

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:
            return b""
        self.seen = (self.seen + chunk)[-(1 << 16):]
        return chunk

    def wait_for(self, marker: bytes, timeout: float = TIMEOUT_S) -> float:
        deadline = time.perf_counter() + timeout
        while marker not in self.seen:
            if time.perf_counter() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"no {marker!r} on the terminal; tail: {self.seen[-300:].decode(errors='replace')!r}")
            self.read(0.2)
        return time.perf_counter() - self.start

    def drain(self, seconds: float) -> list[tuple[float, bytes]]:
        chunks, end = [], time.perf_counter() + seconds
        while time.perf_counter() < end:
            chunk = self.read(min(0.1, max(0.0, end - time.perf_counter())))
            if chunk:
                chunks.append((time.time(), chunk))
        return chunks

    def close(self) -> None:
        if self.proc.poll() is None:
            os.write(self.master, b"q")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own child's session only
                self.proc.wait(10)
        os.close(self.master)


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure_tui(ws: Path, live: str, env: dict[str, str]) -> dict[str, float]:
    """The TUI over ``ws``: first row, live latency, CPU stepping and idle, memory."""
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(ws / "runs" / live), str(FIRST_STEP), str(TOTAL),
                               str(LIVE_STEPS), str(LIVE_STEP_S), str(IDLE_S + SETTLE_S + 30)],
                              env=env, cwd=REPO, start_new_session=True)
    try:
        while b"running" not in (ws / "runs" / live / "status.json").read_bytes():
            time.sleep(0.05)
        term = Terminal([sys.executable, "-m", "tailor"], env)
        try:
            first_row = term.wait_for(run_id(0)[:11].encode())
            time.sleep(SETTLE_S)
            term.drain(0.1)
            os.write(term.master, b"G")
            term.wait_for(f"/{TOTAL}".encode(), timeout=30)
            term.drain(1.0)
            (ws / "runs" / live / "go").touch()
            cpu0, t0 = cpu_s(term.proc.pid), time.perf_counter()
            chunks = term.drain(LIVE_STEPS * LIVE_STEP_S + 1.5)
            stepping = (cpu_s(term.proc.pid) - cpu0) / (time.perf_counter() - t0)
            written = dict(line.split() for line in (ws / "runs" / live / "written.log").read_text().splitlines())
            shown: dict[str, float] = {}
            for stamp, chunk in chunks:
                for step in re.findall(rb"(\d{6})/" + str(TOTAL).encode(), chunk):
                    shown.setdefault(step.decode(), stamp)
            latencies = [shown[s] - float(t) for s, t in written.items() if s in shown]
            term.drain(SETTLE_S)
            cpu0, t0 = cpu_s(term.proc.pid), time.perf_counter()
            term.drain(IDLE_S)
            idle = (cpu_s(term.proc.pid) - cpu0) / (time.perf_counter() - t0)
            rss, peak = memory_mb(term.proc.pid)
        finally:
            term.close()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(10)
    return {
        "first_row_s": round(first_row, 2),
        "latency_p50_ms": round(statistics.median(latencies) * 1000) if latencies else -1,
        "latency_max_ms": round(max(latencies) * 1000) if latencies else -1,
        "steps_seen": len(latencies),
        "steps_written": len(written),
        "cpu_stepping_pct": round(stepping * 100, 1),
        "cpu_idle_pct": round(idle * 100, 1),
        "rss_mb": round(rss),
        "peak_rss_mb": round(peak),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="finished runs in the big workspace")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tailor-scale-") as tmp:
        root = Path(tmp)
        (root / "config.toml").write_text("")
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", TAILOR_CONFIG=str(root / "config.toml"),
                   TAILOR_CACHE=str(root / "cache"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        env.pop("TEXTUAL", None)
        report: dict[str, dict[str, float]] = {}
        for label, finished in (("small", 3), ("big", args.runs)):
            made = time.perf_counter()
            ws, live = make_workspace(root / label, finished)
            wenv = dict(env, TAILOR_WORKSPACE=str(ws))
            row: dict[str, float] = {"runs": finished + 1, "write_s": round(time.perf_counter() - made, 1)}
            row["ls_s"] = round(timed(["ls", "-l", str(ws / "runs")], wenv), 3)
            row["tailor_runs_first_s"] = round(timed([sys.executable, "-m", "tailor", "runs"], wenv), 2)
            row["tailor_runs_s"] = round(timed([sys.executable, "-m", "tailor", "runs"], wenv), 2)
            row.update(measure_tui(ws, live, wenv))
            report[label] = row

    big, small = report["big"], report["small"]
    ok = (big["first_row_s"] < 1.0 and big["cpu_idle_pct"] < 2.0 and big["rss_mb"] < 150
          and big["tailor_runs_s"] < 1.0 and big["steps_seen"] > 0
          and big["latency_p50_ms"] <= max(1.5 * small["latency_p50_ms"], small["latency_p50_ms"] + 100))
    if args.json:
        print(json.dumps({**report, "ok": ok, "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
                         indent=2))
    else:
        keys = [k for k in big if k != "runs"]
        print(f"{'':24}{'runs':>10}" + "".join(f"{k:>10}" for k in ("small", "big")))
        print(f"{'runs':24}{'':10}{small['runs']:>10}{big['runs']:>10}")
        for k in keys:
            print(f"{k:34}{small[k]:>10}{big[k]:>10}")
        print(f"targets (big): first row < 1 s, idle < 2%, RSS < 150 MB, `tailor runs` < 1 s, latency as small: "
              f"{'met' if ok else 'MISSED'} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
