"""What a worker gives the code it runs: events, status, heartbeat, cancellation."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tailor.engine.runs.diskspace import make_reserve, release_reserve
from tailor.engine.runs.liveness import process_start, this_host
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

HEARTBEAT_S = 2.0
GPU_SAMPLE_S = 10.0  # GPU utilisation and memory, for an idle GPU to show (engine/runs/gpu_idle.py)
STATUS_WRITE_S = 1.0  # status.json is rewritten at most this often for progress updates


class _SilentWriter:
    """Event writer of a non-primary rank: only rank 0 writes the run directory."""

    seq = 0
    closed = False

    def emit(self, type: str, **fields: Any) -> dict:
        return {"type": type, **fields}

    def close(self) -> None:
        pass


def is_primary_rank() -> bool:
    """False in ranks 1..N-1 of a multi-GPU worker (accelerate launch / torchrun set RANK)."""
    return os.environ.get("RANK", "0") in ("", "0")


class WorkerContext:
    def __init__(self, run: RunDir, *, resume: bool = False) -> None:
        self.run = run
        self.resume = resume
        self.primary = is_primary_rank()
        self.events = run.event_writer() if self.primary else _SilentWriter()
        self.status: Status = run.read_status()
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._stop_beat = threading.Event()
        self._signalled: int | None = None  # a stop signal whose log line is not written yet
        self._signal_lock = threading.Lock()
        self._last_status_write = 0.0
        self._said_total: int | None = None  # total_steps as last written into an event (for a repair)
        # On resume, steps after the last checkpoint are recomputed; they were logged already. Kept per
        # event kind ("metric:train", "metric:eval", "checkpoint") so that none is logged twice.
        self.logged: dict[str, int] = self._logged_steps() if resume and self.primary else {}

    @property
    def max_logged_step(self) -> int:
        """The highest train step already logged (-1: none); steps at or below it are not logged again."""
        return self.logged.get("metric:train", -1)

    # -- paths for trainers --------------------------------------------------
    @property
    def path(self) -> Path:
        return self.run.path

    # -- lifecycle -----------------------------------------------------------
    def _write_status(self) -> None:
        if self.primary:
            self.run.write_status(self.status)

    def start(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        if not self.primary:
            return
        pid = os.getpid()
        self.status.state = RunState.RUNNING
        self.status.pid = pid
        self.status.pgid = os.getpgid(0)
        self.status.pid_start = process_start(pid)
        self.status.host = this_host()
        self.status.started_at = self.status.started_at if self.resume and self.status.started_at else time.time()
        self.status.ended_at = None
        self.status.error = None
        self.run.write_status(self.status)
        make_reserve(self.run.path)
        self.run.beat(pid, self.status.step)
        self.events.emit("status", state="running", pid=pid, host=self.status.host, attempt=self.status.attempt)
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Flags only: the handler runs between two bytecodes of the main thread, which may be inside
        # EventWriter.emit holding its lock; emitting here deadlocked a cancel forever. The heartbeat
        # thread (within HEARTBEAT_S) or finish() writes the log line.
        if not self._cancel.is_set():
            self._signalled = signum
            self._cancel.set()

    def _say_signal(self) -> None:
        """The log line for a stop signal the handler only flagged; once."""
        with self._signal_lock:
            signum, self._signalled = self._signalled, None
        if signum is not None:
            self.events.emit("log", level="warning", message=f"received {signal.Signals(signum).name}; stopping")

    def _heartbeat(self) -> None:
        from tailor.engine.runs.gpu_idle import IdleTracker, sample_gpus

        idle, sampled, since = IdleTracker(), 0.0, None
        while not self._stop_beat.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                self._say_signal()
            now = time.time()
            if now - sampled >= GPU_SAMPLE_S:  # nvidia-smi takes tens of milliseconds: not every beat
                sampled, since = now, idle.update(sample_gpus(now))
            with contextlib.suppress(OSError):
                self.run.beat(os.getpid(), self.status.step, gpu_idle_since=since)

    def release_reserve(self) -> None:
        """Free the disk reserve (engine/runs/diskspace.py) so the last words can be written."""
        if self.primary:
            release_reserve(self.run.path)

    def finish(self, state: RunState, error: str | None = None) -> None:
        self._stop_beat.set()
        with contextlib.suppress(OSError):
            self._say_signal()
        fields: dict[str, Any] = {"state": state.value}
        if error:
            fields["error"] = error
        if getattr(self.status, "trial_state", None):  # a pruned trial: followers say "pruned", not "cancelled"
            fields["trial_state"] = self.status.trial_state  # type: ignore[attr-defined]  # an extra field
        try:
            self._finish(state, error, fields)
        except OSError:
            self.release_reserve()  # the disk filled up: the reserve makes room for the final status
            self._finish(state, error, fields)
        self.events.close()
        self.release_reserve()

    def _finish(self, state: RunState, error: str | None, fields: dict[str, Any]) -> None:
        with self._lock:
            self.status.state = state
            self.status.error = error
            self.status.ended_at = time.time()
            self._write_status()
        self.events.emit("status", **fields)  # after the status: a retry never emits it twice

    # -- cancellation --------------------------------------------------------
    @property
    def cancel_requested(self) -> bool:
        if not self._cancel.is_set() and self.run.cancel_requested:
            self._cancel.set()
        return self._cancel.is_set()

    # -- events --------------------------------------------------------------
    def emit(self, type: str, **fields: Any) -> dict:
        return self.events.emit(type, **fields)

    def log(self, message: str, level: str = "info") -> None:
        self.events.emit("log", level=level, message=message)

    def metric(self, step: int, values: dict[str, float], *, split: str = "train", epoch: float | None = None) -> None:
        """Record metrics for a step; skipped for steps already logged before a resume."""
        clean = {}
        for k, v in values.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                with contextlib.suppress(OverflowError):
                    clean[str(k)] = float(v)
        if not clean or self._logged_before(f"metric:{split}", step):
            return
        fields: dict[str, Any] = {"step": step, "split": split, "values": clean}
        if epoch is not None:
            fields["epoch"] = round(float(epoch), 4)
        total = self.status.total_steps
        if total and total != self._said_total:  # once per change: `tailor runs --repair` reads it back
            fields["total_steps"] = self._said_total = total
        self.events.emit("metric", **fields)
        with self._lock:
            self.status.latest.update(clean)
        self.progress(step, self.status.total_steps, force=split != "train")

    def progress(self, step: int, total_steps: int | None, *, force: bool = False) -> None:
        with self._lock:
            self.status.step = max(step, self.status.step) if self.resume else step
            if total_steps:
                self.status.total_steps = total_steps
            now = time.monotonic()
            if force or now - self._last_status_write >= STATUS_WRITE_S:
                self._last_status_write = now
                self._write_status()

    def checkpoint(self, step: int, path: Path) -> None:
        if self._logged_before("checkpoint", step):
            return
        self.events.emit("checkpoint", step=step, path=str(path.relative_to(self.run.path)))
        self.progress(step, self.status.total_steps, force=True)

    def artifact(self, name: str, path: Path, **fields: Any) -> None:
        self.events.emit("artifact", name=name, path=str(path.relative_to(self.run.path)), **fields)

    def link(self, **links: Any) -> None:
        """Record lineage (from_run, study/trial...) in the status file."""
        with self._lock:
            self.status.links.update(links)
            self._write_status()

    def _logged_before(self, key: str, step: int) -> bool:
        """True for a step at or below the highest one of this kind logged before the resume."""
        return step <= self.logged.get(key, -1)

    def _logged_steps(self) -> dict[str, int]:
        """The highest step logged per kind of step event (read_events only yields valid events)."""
        from tailor.engine.runs.events import scan_events

        top: dict[str, int] = {}
        for event in scan_events(self.run.events_file):
            kind = event.get("type")
            if kind == "metric":
                key = f"metric:{event.get('split', 'train')}"
            elif kind == "checkpoint":
                key = "checkpoint"
            else:
                continue
            top[key] = max(top.get(key, -1), event["step"])
        return top
