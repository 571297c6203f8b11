"""Time to first paint of ``tailor`` beside a minimal Textual app, on this machine, in one run.

Each app is started in a pseudo-terminal (80x24); the clock runs from spawn until a text that only the
first painted frame contains arrives on the terminal (Tailor: its nav bar; the minimal app: its label).
Rounds alternate between the two apps so that machine load hits both alike; medians are reported.

    python bench/startup.py [--rounds 7] [--json]

Exit status 1 when Tailor needs 2x the minimal app's time or more (median of the per-round ratios; the
target in docs/tui.md).
"""

from __future__ import annotations

import argparse
import json
import os
import pty
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
MINIMAL_APP = """
from textual.app import App
from textual.widgets import Label


class Minimal(App):
    def compose(self):
        yield Label("minimal-first-paint")


Minimal().run()
"""
TIMEOUT_S = 60.0


def first_paint(cmd: list[str], marker: bytes, quit_keys: bytes, env: dict[str, str]) -> float:
    """Seconds from spawn until ``marker`` is written to the terminal."""
    master, slave = pty.openpty()
    fcntl_size = struct.pack("HHHH", 24, 80, 0, 0)
    import fcntl

    fcntl.ioctl(slave, termios.TIOCSWINSZ, fcntl_size)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""
    elapsed = None
    try:
        deadline = start + TIMEOUT_S
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if marker in seen:
                elapsed = time.perf_counter() - start
                break
        if elapsed is None:
            tail = seen[-400:].decode(errors="replace")
            raise SystemExit(f"{cmd[-1]}: no first paint within {TIMEOUT_S:.0f}s; output tail: {tail!r}")
        os.write(master, quit_keys)
        _drain_until_exit(master, proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own child's session only
            proc.wait(10)
        os.close(master)
    return elapsed


def _drain_until_exit(master: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.perf_counter() + timeout
    while proc.poll() is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tailor-startup-") as tmp:
        root = Path(tmp)
        (root / "config.toml").write_text("")
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", TAILOR_CONFIG=str(root / "config.toml"),
                   TAILOR_CACHE=str(root / "cache"), TAILOR_WORKSPACE=str(root / "ws"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        env.pop("TEXTUAL", None)  # no devtools
        # A ready workspace (demo data and recipes written once, outside the measurement).
        subprocess.run([sys.executable, "-m", "tailor", "init"], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        (root / "minimal.py").write_text(MINIMAL_APP)
        apps = {
            "minimal": ([sys.executable, str(root / "minimal.py")], b"minimal-first-paint", b"\x11"),  # ctrl+q
            "tailor": ([sys.executable, "-m", "tailor"], b"3 Runs", b"q"),
        }
        for cmd, marker, keys in apps.values():  # warm the OS file cache and bytecode
            first_paint(cmd, marker, keys, env)
        times: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(args.rounds):
            for name, (cmd, marker, keys) in apps.items():
                times[name].append(first_paint(cmd, marker, keys, env))

    minimal = statistics.median(times["minimal"])
    tailor = statistics.median(times["tailor"])
    ratio = tailor / minimal
    # Rounds alternate, so each pair saw the same machine load: the median of the paired ratios is
    # robust when the load drifts during the run (shared CI machines).
    paired = statistics.median(t / m for t, m in zip(times["tailor"], times["minimal"], strict=True))
    report = {
        "rounds": args.rounds,
        "minimal_median_s": round(minimal, 3),
        "tailor_median_s": round(tailor, 3),
        "ratio": round(ratio, 2),
        "paired_ratio_median": round(paired, 2),
        "target_ratio": 2.0,
        "minimal_s": [round(t, 3) for t in times["minimal"]],
        "tailor_s": [round(t, 3) for t in times["tailor"]],
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"time to first paint, median of {args.rounds} alternating rounds (80x24 pty)")
        print(f"  minimal Textual app : {minimal * 1000:7.0f} ms   {report['minimal_s']}")
        print(f"  tailor              : {tailor * 1000:7.0f} ms   {report['tailor_s']}")
        print(f"  ratio of medians    : {ratio:7.2f}x  (target < 2x; load average {report['load_avg_1m']})")
        print(f"  median paired ratio : {paired:7.2f}x")
    return 0 if paired < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
