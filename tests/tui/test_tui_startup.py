"""`tailor` in a real pseudo-terminal: it paints its first frame, then loads config and workspace."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("tailor_bench_startup", REPO / "bench" / "startup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tailor_paints_in_a_terminal_and_quits(tmp_path):
    bench = load_bench()
    config = tmp_path / "config.toml"
    config.write_text("")
    env = dict(os.environ, TERM="xterm-256color", TAILOR_CONFIG=str(config), TAILOR_WORKSPACE=str(tmp_path / "ws"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    subprocess.run([sys.executable, "-m", "tailor", "init"], env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    seconds = bench.first_paint([sys.executable, "-m", "tailor"], b"3 Runs", b"q", env)
    assert 0 < seconds < bench.TIMEOUT_S


def test_bad_config_is_one_line_and_status_2(tmp_path):
    import pty
    import select

    config = tmp_path / "config.toml"
    config.write_text("[tui]\nlog_max_lines = -1\n")
    env = dict(os.environ, TERM="xterm-256color", TAILOR_CONFIG=str(config), TAILOR_WORKSPACE=str(tmp_path / "ws"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tailor"], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=REPO, start_new_session=True)
    os.close(slave)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(30) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = out.decode(errors="replace")
    assert "Traceback" not in text
    lines = [line for line in text.replace("\r", "\n").split("\n") if "error: " in line]
    assert len(lines) == 1 and "log_max_lines" in lines[0] and str(config) in lines[0], lines
