"""A run directory: the one interface between whoever launches a run and the worker that trains it.

Layout (documented in docs/run-contract.md)::

    <run_id>/
      recipe.yaml      frozen, fully-resolved recipe
      status.json      replaced atomically (see Status)
      events.jsonl     append-only, strictly increasing seq
      heartbeat        JSON {time, pid, step}, rewritten every few seconds by the worker
      cancel.request   present once a cancel was asked for
      stdout.log, stderr.log
      checkpoints/     Trainer checkpoints (checkpoint-N/)
      adapter/         the final adapter (or full model) in Hugging Face format
      eval/            evaluation results (JSON)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from pydantic import ValidationError

from tailor.engine.errors import RunError
from tailor.engine.fsutil import atomic_write_json, private_dir
from tailor.engine.runs.events import EventCursor, EventWriter, last_seq, read_events
from tailor.engine.runs.gpu_idle import DEFAULT_GPU_IDLE_S
from tailor.engine.runs.liveness import pid_alive, this_host
from tailor.engine.runs.repair import rebuild_status, recipe_identity
from tailor.engine.runs.status import RunState, Status

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

DEFAULT_HEARTBEAT_TIMEOUT = 30.0
#: A worker spawned on this machine that has not started this long after launch never will. Executors whose
#: runs wait in a scheduler queue pass their own ``queued_timeout`` (Executor.queued_timeout).
DEFAULT_QUEUED_TIMEOUT = 120.0


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise RunError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-'")
    return run_id


def touch_runs_dir(runs_dir: Path) -> None:
    """Tell listings (engine/runs/index.py) that a finished run's status changed: the runs folder's mtime
    moves."""
    with contextlib.suppress(OSError):  # else a listing's periodic sweep still finds the change
        at = max(time.time_ns(), os.stat(runs_dir).st_mtime_ns + 1)  # moves even within one clock tick
        os.utime(runs_dir, ns=(at, at))


def new_run_id(name: str | None, kind: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name or kind).strip("-._")[:48] or kind
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- paths ---------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.path.name

    recipe_file = property(lambda self: self.path / "recipe.yaml")
    status_file = property(lambda self: self.path / "status.json")
    events_file = property(lambda self: self.path / "events.jsonl")
    heartbeat_file = property(lambda self: self.path / "heartbeat")
    cancel_file = property(lambda self: self.path / "cancel.request")
    stdout_file = property(lambda self: self.path / "stdout.log")
    stderr_file = property(lambda self: self.path / "stderr.log")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    adapter_dir = property(lambda self: self.path / "adapter")
    eval_dir = property(lambda self: self.path / "eval")

    def exists(self) -> bool:
        return self.status_file.exists()

    # -- creation ------------------------------------------------------------
    @classmethod
    def create(cls, parent: Path, run_id: str, recipe_yaml: str, status: Status) -> RunDir:
        check_run_id(run_id)
        private_dir(parent)
        path = parent / run_id
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            raise RunError(f"run {run_id} already exists in {parent}") from None
        run = cls(path)
        for sub in ("checkpoints", "eval"):
            (path / sub).mkdir(mode=0o700)
        from tailor.engine.fsutil import atomic_write_text

        atomic_write_text(run.recipe_file, recipe_yaml)
        run.write_status(status)
        with run.event_writer() as events:  # the links too: a repaired status.json keeps them
            events.emit("status", state=status.state.value, **({"links": status.links} if status.links else {}))
        return run

    # -- status --------------------------------------------------------------
    def read_status(self) -> Status:
        try:
            with open(f"{self.path}/status.json", "rb") as fh:  # not pathlib: listings read thousands
                return Status.model_validate_json(fh.read())
        except FileNotFoundError:
            raise RunError(f"{self.path}: not a run directory (no status.json)") from None
        except ValueError as exc:
            raise RunError(f"{self.status_file}: unreadable status: {_why(exc)}") from None

    def write_status(self, status: Status) -> None:
        status.updated_at = time.time()
        atomic_write_json(self.status_file, status.model_dump(mode="json"))

    def status_problem(self) -> str | None:
        """Why status.json cannot be read (None when it can)."""
        try:
            self.read_status()
        except RunError as exc:
            return str(exc)
        return None

    def listed_status(self) -> Status:
        """``read_status``, or for an unreadable status.json a ``corrupt`` stand-in with the reason, so
        the run never vanishes from listings. Raises RunError only for a folder that is no run at all."""
        try:
            return self.read_status()
        except RunError as exc:
            if not self.status_file.exists():
                raise
            reason = str(exc)
        kind, name = recipe_identity(self)
        return Status(
            run_id=self.run_id,
            kind=kind,
            name=name,
            state=RunState.CORRUPT,
            created_at=self.path.stat().st_mtime,
            error=f"{reason[:200]}; `tailor runs --repair {self.run_id}` rebuilds it from events.jsonl",
        )

    def repair(self) -> Status:
        """Rebuild status.json from events.jsonl and the frozen recipe (engine/runs/repair.py)."""
        status = rebuild_status(self)
        self.write_status(status)
        touch_runs_dir(self.path.parent)  # listings hold finished runs' statuses until the folder moves
        return status

    def effective_status(
        self,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        queued_timeout: float | None = DEFAULT_QUEUED_TIMEOUT,
        gpu_idle_timeout: float = DEFAULT_GPU_IDLE_S,
        status: Status | None = None,
    ) -> Status:
        """The status file (or ``status``, just read from it), corrected for a worker that died without
        saying so (``failed``, ended at its last sign of life, so ELAPSED stops), that is alive but stopped
        beating (``stalled_s``), or that beats while its GPUs sit idle with memory held (``gpu_idle_s``,
        engine/runs/gpu_idle.py)."""
        status = status if status is not None else self.listed_status()
        reason = self.dead_reason(status, heartbeat_timeout, queued_timeout)
        if reason:
            ended = max(self.last_heartbeat() or 0.0, status.updated_at, status.started_at or 0.0)
            status = status.model_copy(update={"state": RunState.FAILED, "error": reason, "ended_at": ended})
        elif status.state == RunState.RUNNING and status.pid is not None and status.host == this_host():
            beat = self.last_heartbeat()
            if beat is not None and time.time() - beat > heartbeat_timeout and not self.is_remote_mirror():
                status = status.model_copy(update={"stalled_s": time.time() - beat})
        if status.state == RunState.RUNNING and status.stalled_s is None and not self.is_remote_mirror():
            since = self.heartbeat().get("gpu_idle_since")
            if isinstance(since, int | float) and time.time() - since >= gpu_idle_timeout:
                status = status.model_copy(update={"gpu_idle_s": time.time() - since})
        return status

    def is_remote_mirror(self) -> bool:
        return (self.path / "remote.json").exists()

    def dead_reason(
        self,
        status: Status,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        queued_timeout: float | None = DEFAULT_QUEUED_TIMEOUT,
    ) -> str | None:
        """Why an active run is in fact dead, or None. ``queued_timeout`` None: a queued run may wait forever."""
        if not status.state.active:
            return None
        if self.is_remote_mirror():
            return None  # a local mirror of a remote run: liveness is judged on its host (engine.remote)
        hint = f"resume it with `tailor resume {status.run_id}`"
        if status.pid is not None and status.host == this_host():
            if not pid_alive(status.pid, status.pid_start):
                return f"worker process {status.pid} died without reporting (killed?); {hint}"
            return None
        beat = self.last_heartbeat()
        now = time.time()
        if status.state == RunState.QUEUED:
            if status.pid is None and queued_timeout is not None and now - status.created_at > queued_timeout:
                return f"worker never started ({queued_timeout:.0f}s after launch); see stderr.log"
            return None
        ref = beat if beat is not None else (status.started_at or status.updated_at)
        if now - ref > heartbeat_timeout:
            return f"no heartbeat for {now - ref:.0f}s from worker {status.pid} on {status.host}; {hint}"
        return None

    def requeue(self, heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT) -> Status:
        """Prepare a failed or cancelled run for ``resume``: status queued, attempt + 1, an event."""
        status = self.effective_status(heartbeat_timeout)
        if status.state == RunState.CORRUPT:
            self.repair()
            status = self.effective_status(heartbeat_timeout)
        if status.state == RunState.SUCCEEDED:
            raise RunError(f"run {self.run_id} already succeeded; launch a new run to train further")
        if status.state.active:
            raise RunError(f"run {self.run_id} is still {status.state.value}; cancel it first")
        self.cancel_file.unlink(missing_ok=True)
        status = status.model_copy(
            update={
                "state": RunState.QUEUED,
                "error": None,
                "pid": None,
                "pgid": None,
                "pid_start": None,
                "ended_at": None,
                "created_at": time.time(),
                "attempt": status.attempt + 1,
            }
        )
        self.write_status(status)
        touch_runs_dir(self.path.parent)  # listings hold finished runs' statuses until the folder moves
        with self.event_writer() as events:
            events.emit("status", state="queued", attempt=status.attempt, resume=True)
        return status

    # -- heartbeat -----------------------------------------------------------
    def beat(self, pid: int, step: int, gpu_idle_since: float | None = None) -> None:
        beat: dict[str, float | int] = {"time": time.time(), "pid": pid, "step": step}
        if gpu_idle_since is not None:
            beat["gpu_idle_since"] = gpu_idle_since
        atomic_write_json(self.heartbeat_file, beat)

    def heartbeat(self) -> dict:
        """The last heartbeat as written ({} when there is none or it is torn)."""
        try:
            data = json.loads(self.heartbeat_file.read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def last_heartbeat(self) -> float | None:
        try:
            return float(self.heartbeat()["time"])
        except (KeyError, TypeError, ValueError):
            return None

    # -- events --------------------------------------------------------------
    def event_writer(self) -> EventWriter:
        return EventWriter(self.events_file)

    def events(self, after: int = 0) -> list[dict]:
        return read_events(self.events_file, after)

    def cursor(self, after: int = 0) -> EventCursor:
        return EventCursor(self.events_file, after)

    def last_seq(self) -> int:
        return last_seq(self.events_file)

    # -- cancel --------------------------------------------------------------
    def request_cancel(self) -> None:
        self.cancel_file.touch(mode=0o600)

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_file.exists()

    # -- checkpoints ---------------------------------------------------------
    def last_checkpoint(self) -> Path | None:
        """The newest complete checkpoint (one with a whole trainer_state.json, the Trainer's last write),
        or None."""
        best: tuple[int, Path] | None = None
        for step, child, complete in self._checkpoints():
            if complete and (best is None or step > best[0]):
                best = (step, child)
        return best[1] if best else None

    def drop_partial_checkpoints(self) -> list[str]:
        """Delete the checkpoints a save left unfinished (a full disk, a kill): a later resume must not
        pick one up, and their space is what the final status needs. Returns their names."""
        dropped = []
        for _step, child, complete in self._checkpoints():
            if not complete:
                shutil.rmtree(child, ignore_errors=True)
                dropped.append(child.name)
        return dropped

    def _checkpoints(self) -> list[tuple[int, Path, bool]]:
        """(step, folder, complete) of every ``checkpoint-N`` folder."""
        if not self.checkpoints_dir.is_dir():
            return []
        out = []
        for child in self.checkpoints_dir.iterdir():
            m = re.fullmatch(r"checkpoint-(\d+)", child.name)
            if m and child.is_dir():
                out.append((int(m.group(1)), child, _whole_json(child / "trainer_state.json")))
        return out

    def describe_host(self) -> str:
        return this_host()


def _whole_json(path: Path) -> bool:
    """``path`` holds a whole JSON document (a save cut short by a full disk leaves a truncated one)."""
    try:
        json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


def _why(exc: ValueError) -> str:
    """One line for a status.json pydantic refused: "not JSON" or the first field and its problem, never
    the validation dump with the file's bytes in it."""
    if not isinstance(exc, ValidationError):
        return str(exc).splitlines()[0]
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return "not valid JSON"
    field = ".".join(str(p) for p in first["loc"]) or "the file"
    return f"{field}: {first['msg']}"
