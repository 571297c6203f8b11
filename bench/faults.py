"""Fault injection on the demo recipes, with real workers and a real OpenSSH server on 127.0.0.1.

    python bench/faults.py [--steps 30] [--only NAME ...] [--bad-input]

Each fault is injected into a real run (``tailor`` CLI subprocesses, demo-sft with a short budget,
demo-search with two short trials); then the run's events.jsonl is audited: train steps 1..N and every
eval step must be there (else "lost"), no seq and no step event may be written twice ("duplicated").
Prints one row per fault: fault, survived, events lost, events duplicated, note. ``--bad-input`` also
runs the bad-input catalogue (tests/faults/bad_inputs.py) and prints its counts. Goal: every fault
survived, 0 lost, 0 duplicated; 0 tracebacks, 0 silent acceptances, 0 corruptions.

Remote faults (issue 26 item 9) use the same sshd: a launch whose connection drops after or before the
host got it (found on reconnect, mirrored and said, one run there), a channel closed without an exit status
during a fetch (retried), a finished run's logs with the host down (from the mirror, ``logs -f`` at once),
a diverged loss (inf, -1e308, NaN from a plug-in kind) mirrored with logs, runs and the TUI alive, a full
remote disk on resume (refused like a launch; resumed once freed) and a run of a missing model refused
before any run directory exists. The connection drops are injected by the host's ``python:``, a wrapper
that hangs once on the op named, while a watcher kills the SSH sessions.

The full-disk faults mount a tmpfs (root or CAP_SYS_ADMIN); where that fails they are skipped with the
reason. Exit status 1 when any fault was not survived or lost/duplicated events.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import yaml  # noqa: E402
from faults.helpers import duplicates, kill_worker, lost_steps, raw_events, workers_of  # noqa: E402

from tailor.engine.remote.sshd import LocalSSHD, sshd_available  # noqa: E402
from tailor.engine.runs.rundir import RunDir  # noqa: E402
from tailor.engine.workspace import Workspace  # noqa: E402

# PYTHONPATH too: the host side must import the Tailor under test (this tree), as the client does.
FORWARD = ("TAILOR_CACHE", "TAILOR_CONFIG", "OMP_NUM_THREADS", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM", "PYTHONPATH")


@dataclass
class Row:
    fault: str
    survived: bool | None  # None: skipped
    lost: int = 0
    duplicated: int = 0
    note: str = ""


class Bench:
    def __init__(self, root: Path, steps: int) -> None:
        self.root = root
        self.steps = steps
        self.ws = Workspace(root / "ws").ensure()
        self.sshd: LocalSSHD | None = None

    # -- plumbing -------------------------------------------------------------------------
    def tailor(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tailor", "-w", str(self.ws.root), *args],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    def bg(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "tailor", "-w", str(self.ws.root), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)

    def sft_args(self, every: int | None = None) -> list[str]:
        every = every or max(self.steps // 3, 1)
        return ["demo-sft", "-s", f"train.max_steps={self.steps}", "-s", "train.logging_steps=1",
                "-s", f"train.eval_steps={every}", "-s", f"train.save_steps={every}"]

    def launch(self, *extra: str) -> RunDir:
        out = self.tailor("run", *self.sft_args(), *extra)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return self.ws.run(out.stdout.strip().splitlines()[0])

    def wait(self, run: RunDir, pred: Callable[[], bool], timeout: float = 600) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if pred():
                    return True
            except Exception:
                pass
            time.sleep(0.1)
        return False

    def step_at_least(self, run: RunDir, step: int) -> bool:
        return self.wait(run, lambda: run.read_status().step >= step)

    def final(self, run: RunDir, timeout: float = 900) -> str:
        self.wait(run, lambda: run.effective_status().state.terminal, timeout)
        return run.effective_status().state.value

    def audit(self, fault: str, run: RunDir, ok: bool, note: str = "", evals: bool = True) -> Row:
        every = max(self.steps // 3, 1)
        lost = lost_steps(run, self.steps, every if evals else self.steps + 1)
        d = duplicates(run)
        return Row(fault, ok, len(lost), d["seq"] + d["steps"] + d["out_of_order"],
                   note or (f"lost {lost[:3]}" if lost else ""))

    # -- local faults ------------------------------------------------------------------------
    def sigkill_resume(self) -> Row:
        run = self.launch()
        self.step_at_least(run, self.steps // 2)
        kill_worker(run)
        ok = self.tailor("resume", run.run_id).returncode == 0 and self.final(run) == "succeeded"
        return self.audit("SIGKILL worker, resume", run, ok)

    def sigstop(self) -> Row:
        config = self.root / "hb.toml"
        config.write_text("heartbeat_timeout_s = 4\n")
        env = {**os.environ, "TAILOR_CONFIG": str(config)}
        run = self.launch()
        self.step_at_least(run, 3)
        pid = run.read_status().pid
        assert pid
        os.kill(pid, signal.SIGSTOP)
        time.sleep(7)
        listed = subprocess.run([sys.executable, "-m", "tailor", "-w", str(self.ws.root), "runs"],
                                capture_output=True, text=True, env=env, cwd=ROOT).stdout
        os.kill(pid, signal.SIGCONT)
        shown = "stalled (no heartbeat" in listed
        ok = shown and self.final(run) == "succeeded"
        return self.audit("SIGSTOP worker 7 s (timeout 4 s)", run, ok, "" if shown else "not shown as stalled")

    def double_resume(self) -> Row:
        run = self.launch()
        self.step_at_least(run, self.steps // 2)
        kill_worker(run)
        procs = [self.bg("resume", run.run_id) for _ in range(4)]
        codes = [p.wait(120) for p in procs]
        time.sleep(1)
        workers = len(workers_of(run))
        ok = codes.count(0) == 1 and workers <= 1 and self.final(run) == "succeeded"
        return self.audit("4 concurrent resumes", run, ok, f"{codes.count(0)} started, {workers} worker(s)")

    def resume_cancel_race(self) -> Row:
        run = self.launch()
        self.step_at_least(run, self.steps // 2)
        kill_worker(run)
        procs = [self.bg("resume", run.run_id), self.bg("cancel", run.run_id, "--wait", "60"),
                 self.bg("resume", run.run_id)]
        for p in procs:
            p.wait(180)
        state = self.final(run)
        if state == "cancelled":
            self.tailor("resume", run.run_id)
            state = self.final(run)
        gone = self.wait(run, lambda: not workers_of(run), 30)  # the worker exits just after its status
        ok = state == "succeeded" and gone
        return self.audit("resume racing cancel", run, ok, f"then {state}")

    def corrupt_events(self) -> Row:
        run = self.launch()
        self.step_at_least(run, 3)
        with open(run.events_file, "a") as fh:  # a hostile plug-in writing garbage beside the worker
            for bad in ({"seq": 10**6, "time": 1, "type": "metric", "step": 1, "values": {"loss": "abc"}},
                        {"seq": 10**6 + 1, "time": 1, "type": "metric", "step": "x", "values": {"loss": 1}},
                        {"seq": 10**6 + 2, "time": 1, "type": "log", "message": "m" * 10_000_000}):
                fh.write(json.dumps(bad) + "\n")
            fh.write('{"seq": 1000003, "time": 1, "type": "metric", "step": 2, "values": {"loss": NaN}}\n')
        self.step_at_least(run, self.steps // 2)
        kill_worker(run)
        resumed = self.tailor("resume", run.run_id).returncode == 0
        ok = resumed and self.final(run) == "succeeded"
        logs = self.tailor("logs", run.run_id)
        ok = ok and logs.returncode == 0 and "Traceback" not in logs.stderr
        # The injected lines are the faults, not the worker's: audit only the worker's own events.
        clean = RunDir(self.root / "audit" / run.run_id)
        clean.path.mkdir(parents=True, exist_ok=True)
        mine = [e for e in raw_events(run) if not (isinstance(e.get("seq"), int) and e["seq"] >= 10**6)]
        (clean.path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in mine))
        return self.audit("malformed events (text, bad step, 10 MB, NaN)", clean, ok)

    def corrupt_status(self) -> Row:
        run = self.launch()
        self.step_at_least(run, self.steps // 2)
        kill_worker(run)
        run.status_file.write_bytes(b"\x00garbage{")
        listed = self.tailor("runs").stdout
        shown = "corrupt" in listed
        ok = shown and self.tailor("resume", run.run_id).returncode == 0 and self.final(run) == "succeeded"
        return self.audit("corrupt status.json, resume", run, ok, "" if shown else "vanished from tailor runs")

    def full_disk(self) -> Row:
        runs = self.root / "small-ws" / "runs"
        small = Workspace(self.root / "small-ws").ensure()
        shutil.rmtree(runs)
        runs.mkdir()
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", str(runs)],
                               capture_output=True, text=True)
        if mount.returncode != 0:
            return Row("disk full mid-run", None, note=f"skipped: cannot mount a tmpfs ({mount.stderr.strip()})")
        try:
            saved, self.ws = self.ws, small
            run = self.launch()
            blob = runs / "filler"
            self.step_at_least(run, 2)
            with open(blob, "wb") as fh:  # fill the disk while it trains
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            state = self.final(run)
            error = run.read_status().error or ""
            named = state == "failed" and error.startswith("disk full writing")
            blob.unlink()
            ok = named and self.tailor("resume", run.run_id).returncode == 0 and self.final(run) == "succeeded"
            row = self.audit("disk full mid-run, free, resume", run, ok, "" if named else f"{state}: {error[:80]}")
            self.ws = saved
            return row
        finally:
            subprocess.run(["umount", "-l", str(runs)], check=False)

    def search_kill(self) -> Row:
        recipe = self.ws.recipes_dir / "faults-search.yaml"
        recipe.write_text(yaml.safe_dump({
            "kind": "search", "name": "faults-search", "seed": 0, "base": "demo-sft.yaml",
            "space": {"learning_rate": {"low": 1e-3, "high": 5e-3, "log": True}}, "objective": "eval_loss",
            "n_trials": 2, "sampler": {"type": "random"}, "pruner": {"type": "none"}, "eval_steps": 5,
            "trial_train": {"max_steps": 10, "per_device_eval_batch_size": 50},
        }))
        out = self.tailor("run", str(recipe))
        run = self.ws.run(out.stdout.strip())
        self.wait(run, lambda: any(e.get("type") == "metric" for e in raw_events(run)) or
                  len(list(self.ws.runs_dir.iterdir())) > 1, 600)
        time.sleep(3)
        kill_worker(run)
        resumed = self.tailor("resume", run.run_id).returncode == 0
        state = self.final(run, 1200)
        d = duplicates(run)
        return Row("SIGKILL search worker, resume", resumed and state == "succeeded", 0,
                   d["seq"] + d["out_of_order"], f"then {state}")

    # -- remote faults -----------------------------------------------------------------------
    def start_sshd(self) -> bool:
        if not sshd_available():
            return False
        self.sshd = LocalSSHD(self.root / "sshd").setup().start()
        known = self.root / "known_hosts"
        known.write_text(self.sshd.known_hosts_line())
        (self.root / "ssh_config").write_text("")
        self.ws.config_file.write_text(yaml.safe_dump({
            "ssh": {"config": str(self.root / "ssh_config"), "known_hosts": str(known)},
            "hosts": {"box": {
                "hostname": "127.0.0.1", "port": self.sshd.port, "user": self.sshd.user,
                "identity_file": [str(self.sshd.client_key)], "agent": False, "python": sys.executable,
                "workdir": str(self.root / "remote"),
                "env": {k: os.environ[k] for k in FORWARD if k in os.environ},
            }},
        }))
        return True

    def remote(self, fault: str, inject: Callable[[RunDir], None]) -> Row:
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        run_id = self.tailor("run", *self.sft_args(), "--host", "box").stdout.strip()
        follower = self.bg("logs", "-f", run_id)
        remote = RunDir(self.root / "remote" / "workspace" / "runs" / run_id)
        inject(remote)
        _out, err = follower.communicate(timeout=900)
        mirror = self.ws.run(run_id)
        ok = follower.returncode == 0 and mirror.read_status().state.value == "succeeded"
        notices = err.count("reconnecting")
        return self.audit(fault, mirror, ok, f"{notices} reconnect notice(s)")

    def connection_kills(self) -> Row:
        def inject(remote: RunDir) -> None:
            assert self.sshd
            for frac in (0.25, 0.5, 0.75):
                self.wait(remote, lambda f=frac: remote.read_status().step >= int(self.steps * f))
                self.sshd.kill_sessions()
        return self.remote("3 SSH connection kills", inject)

    def sshd_restart(self) -> Row:
        def inject(remote: RunDir) -> None:
            assert self.sshd
            self.wait(remote, lambda: remote.read_status().step >= self.steps // 3)
            self.sshd.kill_sessions()
            self.sshd.restart()
        return self.remote("sshd restart", inject)


    # -- remote, issue 26 item 9 ---------------------------------------------------------------
    def flaky(self, ops: dict[str, str]) -> Path:
        """Point host box at an interpreter that hangs once per op in ``ops`` ("before": the op never runs;
        "after": it runs and its answer is lost) and leaves a mark; ``killer`` then drops the SSH sessions,
        so the client sees a channel close with no exit status, as after a network failure."""
        folder = Path(tempfile.mkdtemp(prefix="flaky-", dir=self.root))
        lines = ["#!/bin/sh", 'case "$3" in']
        for op, when in ops.items():
            run = f'"{sys.executable}" "$@" >/dev/null' if when == "after" else ":"
            lines.append(f'  {op}) if [ ! -e "{folder}/hung-{op}" ]; then {run}; touch "{folder}/hung-{op}"; '
                         "sleep 30; exit 0; fi;;")
        lines += ["esac", f'exec "{sys.executable}" "$@"', ""]
        script = folder / "python"
        script.write_text("\n".join(lines))
        script.chmod(0o700)
        self.set_host(python=str(script))
        return folder

    def set_host(self, **fields: object) -> None:
        data = yaml.safe_load(self.ws.config_file.read_text())
        data["hosts"]["box"].update(fields)
        self.ws.config_file.write_text(yaml.safe_dump(data))

    def killer(self, folder: Path) -> tuple[threading.Event, list[str]]:
        stop, hit = threading.Event(), []

        def watch() -> None:
            while not stop.is_set():
                for mark in sorted(folder.glob("hung-*")):
                    if mark.name not in hit and self.sshd:
                        hit.append(mark.name)
                        self.sshd.kill_sessions()
                time.sleep(0.02)

        threading.Thread(target=watch, daemon=True).start()
        return stop, hit

    def launch_drop(self, when: str) -> Row:
        fault = f"SSH drop during launch ({'host started it' if when == 'after' else 'before host got it'})"
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        stop, hit = self.killer(self.flaky({"launch": when}))
        try:
            out = self.tailor("run", *self.sft_args(), "--host", "box")
        finally:
            stop.set()
            self.set_host(python=sys.executable)
        if out.returncode != 0:
            return Row(fault, False, note=f"rc {out.returncode}: {out.stderr.strip()[-100:]}")
        run_id = out.stdout.strip().splitlines()[0]
        said = ("found started there" if when == "after" else "was not there, so it was launched") in out.stderr
        listed = run_id in self.tailor("runs").stdout
        follow = self.tailor("logs", "-f", run_id)
        on_host = [p.name for p in (self.root / "remote" / "workspace" / "runs").iterdir() if p.name == run_id]
        mirror = self.ws.run(run_id)
        ok = (hit == ["hung-launch"] and said and listed and follow.returncode == 0 and on_host == [run_id]
              and mirror.read_status().state.value == "succeeded")
        return self.audit(fault, mirror, ok, f"said: {said}, listed: {listed}, runs there: {len(on_host)}")

    def launch_drop_after(self) -> Row:
        return self.launch_drop("after")

    def launch_drop_before(self) -> Row:
        return self.launch_drop("before")

    def remote_finished(self) -> RunDir:
        """A finished remote run, followed to its end (mirror complete)."""
        run_id = self.tailor("run", *self.sft_args(), "--host", "box").stdout.strip()
        self.tailor("logs", "-f", run_id)
        return self.ws.run(run_id)

    def fetch_drop(self) -> Row:
        fault = "channel closed w/o exit status during fetch"
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        run = self.remote_finished()
        stop, hit = self.killer(self.flaky({"manifest": "after"}))
        try:
            out = self.tailor("hosts", "fetch", run.run_id)
        finally:
            stop.set()
            self.set_host(python=sys.executable)
        ok = out.returncode == 0 and hit == ["hung-manifest"] and (run.adapter_dir / "adapter_config.json").exists()
        return self.audit(fault, run, ok, out.stdout.strip().splitlines()[0][:80] if out.stdout else out.stderr[-80:])

    def host_down_logs(self) -> Row:
        fault = "host down: finished run's logs from the mirror"
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        from tailor.engine.remote.sshd import free_port

        run = self.remote_finished()
        held = len(run.events())
        self.set_host(port=free_port(), connect_timeout=2)
        try:
            t0 = time.monotonic()
            logs = self.tailor("logs", run.run_id)
            t1 = time.monotonic()
            follow = self.tailor("logs", "-f", run.run_id)
            t2 = time.monotonic()
        finally:
            assert self.sshd
            self.set_host(port=self.sshd.port, connect_timeout=15)
        shown = logs.stdout.count("\n") == held and follow.stdout.count("\n") == held
        ok = logs.returncode == 0 and follow.returncode == 0 and shown and t2 - t1 < 10
        return self.audit(fault, run, ok, f"logs {t1 - t0:.1f} s, logs -f {t2 - t1:.1f} s")

    def diverged(self) -> Row:
        """A remote run whose loss goes to inf, -1e308 and NaN: mirrored as is; logs, runs and the TUI live."""
        fault = "diverged loss (inf, -1e308, NaN) mirrored"
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        plugin = self.root / "plugins"
        plugin.mkdir(exist_ok=True)
        (plugin / "diverge_kind.py").write_text(DIVERGE_KIND)
        env = yaml.safe_load(self.ws.config_file.read_text())["hosts"]["box"].get("env", {})
        path = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
        self.set_host(env={**env, "PYTHONPATH": path, "TAILOR_PLUGINS": "diverge_kind"})
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")]))
        os.environ["TAILOR_PLUGINS"] = "diverge_kind"
        try:
            recipe = self.ws.recipes_dir / "diverge.yaml"
            recipe.write_text(f"kind: diverge\nname: diverge\nsteps: {self.steps}\n")
            run_id = self.tailor("run", str(recipe), "--host", "box").stdout.strip()
            follow = self.tailor("logs", "-f", run_id)
            mirror = self.ws.run(run_id)
            text = mirror.events_file.read_text()
            kept = all(v in text for v in ("Infinity", "NaN", "-1e+308"))
            logs, runs = self.tailor("logs", run_id), self.tailor("runs")
            tui = subprocess.run([sys.executable, "-c", TUI_SMOKE, str(self.ws.root)], capture_output=True, text=True,
                                 timeout=300, cwd=ROOT)
        finally:
            self.set_host(env=env)
            os.environ.pop("TAILOR_PLUGINS", None)
        ok = follow.returncode == 0 and kept and logs.returncode == 0 and runs.returncode == 0 and tui.returncode == 0
        why = (tui.stderr.strip().splitlines() or ["rc " + str(tui.returncode)])[-1][-70:]
        note = f"kept inf/NaN: {kept}, TUI: {'ok' if tui.returncode == 0 else why}"
        return self.audit(fault, mirror, ok, note, evals=False)

    def remote_disk_resume(self) -> Row:
        """A remote run on a small disk fails when the disk fills; resume while it is still full must be refused
        (like a launch), status consistent; once space is freed, resume finishes the run."""
        fault = "full remote disk on resume"
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        runs = self.root / "remote" / "workspace" / "runs"
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=60m,mode=0700", "tmpfs", str(runs)],
                               capture_output=True, text=True)
        if mount.returncode != 0:
            return Row(fault, None, note=f"skipped: cannot mount a tmpfs ({mount.stderr.strip()})")
        try:
            run_id = self.tailor("run", *self.sft_args(), "--host", "box").stdout.strip()
            remote = RunDir(runs / run_id)
            self.step_at_least(remote, 2)
            blob = runs / "filler"
            with open(blob, "wb") as fh:
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            self.tailor("logs", "-f", run_id)
            failed = self.final(remote) == "failed"
            resume = self.tailor("resume", run_id)
            refused = resume.returncode == 2 and "disk" in resume.stderr.lower()
            time.sleep(1)
            consistent = remote.effective_status().state.value == "failed"
            blob.unlink()
            if not refused:
                self.final(remote)
            again = self.tailor("resume", run_id)
            self.tailor("logs", "-f", run_id)
            mirror = self.ws.run(run_id)
            ok = failed and refused and consistent and again.returncode == 0 and self.final(remote) == "succeeded"
            note = f"failed: {failed}, resume refused: {refused} ({resume.stderr.strip()[-60:] or 'rc 0'})"
            return self.audit(fault, mirror, ok, note)
        finally:
            subprocess.run(["umount", "-l", str(runs)], check=False)

    def remote_missing_model(self) -> Row:
        fault = "run refusing a remote missing model"
        if self.sshd is None and not self.start_sshd():
            return Row(fault, None, note="skipped: no OpenSSH server")
        before = sorted(p.name for p in self.ws.runs_dir.iterdir())
        there = self.root / "remote" / "workspace" / "runs"
        before_there = sorted(p.name for p in there.iterdir()) if there.is_dir() else []
        out = self.tailor("run", *self.sft_args(), "-s", "model=/nonexistent/model-dir", "--host", "box")
        after = sorted(p.name for p in self.ws.runs_dir.iterdir())
        after_there = sorted(p.name for p in there.iterdir()) if there.is_dir() else []
        ok = out.returncode == 2 and after == before and after_there == before_there
        note = f"rc {out.returncode}, runs made: {len(after) - len(before)} here, {len(after_there) - len(before_there)} there"
        return Row(fault, ok, note=note)


#: A plug-in kind for the diverged-loss fault: its loss goes to inf, then -1e308, then NaN, then back.
DIVERGE_KIND = """
import time
from typing import Literal
from tailor.engine import kinds
from tailor.engine.recipes.common import Recipe

class DivergeRecipe(Recipe):
    kind: Literal["diverge"]
    name: str | None = None
    steps: int = 30

def run_diverge(recipe, ctx):
    bad = {3: float("inf"), 4: -1e308, 5: float("nan")}
    for step in range(1, recipe.steps + 1):
        time.sleep(0.05)
        ctx.metric(step, {"loss": bad.get(step, 1.0 / step)})
        ctx.progress(step, recipe.steps)

kinds.register(kinds.Kind("diverge", DivergeRecipe, run_diverge, summary="diverging loss"), replace=True)
"""

#: Start the TUI on a workspace in a Pilot, open every run's detail, and exit 0 if nothing raised.
TUI_SMOKE = """
import asyncio, sys
from tailor.engine.config import load_settings
from tailor.engine.workspace import Workspace
from tailor.tui.app import TailorApp

async def main():
    ws = Workspace(sys.argv[1])
    app = TailorApp(ws, load_settings(workspace=ws.root))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(3.0)
        for _ in range(len(ws.run_dirs())):
            await pilot.press("down")
            await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(2.0)
    return app.return_code or 0

sys.exit(asyncio.run(main()))
"""


FAULTS = {
    "kills": Bench.connection_kills, "sshd": Bench.sshd_restart, "sigkill": Bench.sigkill_resume,
    "sigstop": Bench.sigstop, "double": Bench.double_resume, "race": Bench.resume_cancel_race,
    "search": Bench.search_kill, "disk": Bench.full_disk, "events": Bench.corrupt_events,
    "status": Bench.corrupt_status,
    "launch-after": Bench.launch_drop_after, "launch-before": Bench.launch_drop_before,
    "fetch-drop": Bench.fetch_drop, "host-down": Bench.host_down_logs, "diverged": Bench.diverged,
    "remote-disk": Bench.remote_disk_resume, "remote-model": Bench.remote_missing_model,
}


def bad_input_counts(root: Path) -> dict[str, int]:
    from faults.bad_inputs import CASES, try_case

    counts = {"tried": 0, "clear": 0, "traceback": 0, "silent": 0, "corruption": 0, "unclear": 0}
    for i, case in enumerate(CASES):
        ws = Workspace(root / f"bad-{i}" / "ws").ensure()
        verdict, err = try_case(case, ws.root, root / f"bad-{i}" / "in")
        counts["tried"] += 1
        counts[verdict] += 1
        if verdict != "clear":
            print(f"  {case.name}: {verdict}: {err.strip()[:200]}")
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--only", nargs="*", choices=list(FAULTS), default=None)
    ap.add_argument("--bad-input", action="store_true")
    args = ap.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tailor-bench-faults-") as tmp:
        os.environ.setdefault("TAILOR_CONFIG", str(Path(tmp) / "config.toml"))
        Path(os.environ["TAILOR_CONFIG"]).touch()
        bench = Bench(Path(tmp), args.steps)
        try:
            for name in args.only or list(FAULTS):
                t0 = time.monotonic()
                try:
                    row = FAULTS[name](bench)
                except Exception as exc:
                    row = Row(name, False, note=f"{type(exc).__name__}: {exc}"[:120])
                row.note = f"{row.note} ({time.monotonic() - t0:.0f} s)".strip()
                rows.append(row)
                print(f"{row.fault}: {row.survived} lost={row.lost} dup={row.duplicated} {row.note}", flush=True)
            counts = bad_input_counts(Path(tmp)) if args.bad_input else None
        finally:
            if bench.sshd:
                bench.sshd.stop()
    print()
    print(f"| {'fault':<46} | survived | events lost | events duplicated | note")
    print(f"|{'-' * 48}|----------|-------------|-------------------|------")
    for r in rows:
        surv = "skipped" if r.survived is None else ("yes" if r.survived else "NO")
        print(f"| {r.fault:<46} | {surv:<8} | {r.lost:>11} | {r.duplicated:>17} | {r.note}")
    if counts:
        print()
        print("bad inputs: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    failed = any(r.survived is False or r.lost or r.duplicated for r in rows)
    return 1 if failed or (counts and counts["tried"] != counts["clear"]) else 0


if __name__ == "__main__":
    sys.exit(main())
