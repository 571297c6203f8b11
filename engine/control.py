"""Synchronous run control on this machine: launch, status, list, cancel, kill, resume.

The one place that starts and stops workers on the machine it runs on. ``LocalExecutor`` wraps it for
the TUI and the CLI; the host side of SSH (engine/remote/server.py) and a search spawning sibling
workers (engine/search/run.py) call it directly, because they are already on the worker's machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine import kinds, stack
from tailor.engine.errors import RunError, TailorError
from tailor.engine.runs import lock
from tailor.engine.runs.index import RunIndex
from tailor.engine.runs.liveness import pid_alive, this_host
from tailor.engine.runs.rundir import DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_QUEUED_TIMEOUT, RunDir
from tailor.engine.runs.status import RunState, Status

if TYPE_CHECKING:
    from tailor.engine.fingerprint import ResumeReport
    from tailor.engine.workspace import Workspace


#: How long a resume waits for a just-killed worker's lock to be released by the kernel.
LOCK_RELEASE_S = 10.0


class Control:
    """Run control over one workspace's runs, with the liveness policy of whoever holds it."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        python: str | None = None,
        env: dict[str, str] | None = None,
        heartbeat_timeout: float | None = None,
        queued_timeout: float | None = DEFAULT_QUEUED_TIMEOUT,
    ) -> None:
        self.workspace = workspace
        self.runs_dir = workspace.runs_dir
        self.python = python
        self.env = env or {}
        self.heartbeat_timeout = heartbeat_timeout or configured_heartbeat_timeout()
        self.queued_timeout = queued_timeout
        self.gpu_idle_timeout = configured_gpu_idle_timeout()
        self._index: RunIndex | None = None

    @classmethod
    def on_host(cls, workspace: Workspace, *, python: str, settings: dict[str, Any] | None = None) -> Control:
        """The control the host side of a remote executor builds (engine/remote/server.py), per host type
        (engine/executors/registry.py). ``settings``: what the executor's ``control_settings()`` sent with
        a launch or resume (None for the other ops). A subclass that needs them overrides this."""
        return cls(workspace, python=python)

    def run(self, run_id: str) -> RunDir:
        return self.workspace.run(run_id)

    # -- launching -----------------------------------------------------------------------
    def launch(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
    ) -> Status:
        """Validate the recipe, create its run directory here and start a detached worker."""
        from tailor.engine.executors.base import prepare_launch
        from tailor.engine.memory_estimate import check_launch_space
        from tailor.engine.recipes.load import dump_recipe

        self.require_stack("a local run")
        prepared = prepare_launch(recipe, host=this_host(), name=name, overrides=overrides, links=links)
        check_launch_space(self.runs_dir, prepared.recipe)
        kinds.get(prepared.recipe.kind).check_launch(prepared.recipe)  # e.g. an endpoint judge's key variable
        return self.create_and_spawn(prepared.run_id, dump_recipe(prepared.recipe), prepared.status)

    def require_stack(self, what: str) -> None:
        """Refuse, before any run directory exists, to start a worker in this interpreter without the
        training stack (a light install). A worker in another interpreter (``python``) is its own check."""
        if self.python is None:
            stack.require(what, launch=True)

    def create_and_spawn(self, run_id: str, recipe_yaml: str, status: Status) -> Status:
        """Create the run directory (frozen recipe, first status) and start its worker."""
        run = RunDir.create(self.runs_dir, run_id, recipe_yaml, status)
        with lock.held(run.path, what="started") as fd:
            self.spawn(run, lock_fd=fd)
        return run.read_status()

    def spawn(
        self, run: RunDir, *, resume: bool = False, env: dict[str, str] | None = None, lock_fd: int | None = None
    ) -> int:
        """Start the run's worker (engine/worker/launch.py); its pid."""
        from tailor.engine.worker.launch import spawn_worker

        return spawn_worker(
            run.path,
            command=self.worker_command(run, resume=resume),
            env={**self.env, **(env or {})},
            lock_fd=lock_fd,
        )

    def worker_command(self, run: RunDir, *, resume: bool = False) -> list[str]:
        """The worker's command line (engine/worker/launch.py). A subclass may wrap it (``nice``, a
        container runtime); the worker must stay the process that the command starts or execs."""
        from tailor.engine.worker.launch import worker_command

        return worker_command(run.path, resume=resume, python=self.python)

    # -- reading -------------------------------------------------------------------------
    def status(self, run_id: str) -> Status:
        return self.effective(self.run(run_id))

    def effective(self, run: RunDir) -> Status:
        return with_via(run, run.effective_status(self.heartbeat_timeout, self.queued_timeout, self.gpu_idle_timeout))

    def list_runs(self) -> list[Status]:
        """Every run directory's status, oldest first; a half-created or foreign folder is skipped.
        Finished runs are read once per control (engine/runs/index.py): a long-lived one (the TUI's)
        lists thousands of runs for the price of the active ones."""
        if self._index is None or self._index.runs_dir != self.runs_dir:
            self._index = RunIndex(self.runs_dir)
        if type(self).effective is not Control.effective:  # a host's own judgement (Slurm: a job may queue for hours)
            return self._index.statuses(lambda run, _status: self.effective(run))
        return self._index.statuses(
            lambda run, status: with_via(run, run.effective_status(self.heartbeat_timeout, self.queued_timeout, self.gpu_idle_timeout, status=status))
        )

    # -- control -------------------------------------------------------------------------
    def cancel(self, run_id: str) -> Status:
        run = self.run(run_id)
        status = run.effective_status(self.heartbeat_timeout, self.queued_timeout)
        if status.state.terminal:
            raise RunError(f"run {run.run_id} is already {status.state.value}; nothing to cancel")
        run.request_cancel()
        if status.pgid and status.pid and pid_alive(status.pid, status.pid_start):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(status.pgid, signal.SIGTERM)
        elif status.pid is None:
            # Not started yet: the worker checks cancel.request at start-up. Mark it now only when no
            # worker (or resume about to start one) holds the lock: else that worker reports it.
            with contextlib.suppress(lock.RunLocked), lock.held(run.path, what="starting"):
                mark_cancelled(run, "cancelled before the worker started")
        return self.effective(run)

    def kill(self, run_id: str) -> Status:
        """SIGKILL the worker's process group (for a worker that ignores a cancel)."""
        run = self.run(run_id)
        status = run.read_status()
        if status.pgid and status.pid and pid_alive(status.pid, status.pid_start):
            os.killpg(status.pgid, signal.SIGKILL)
            _wait_gone(status.pid, status.pid_start)
        if status.state.active:
            with contextlib.suppress(lock.RunLocked), lock.held(run.path, what="running"):
                mark_cancelled(run, "killed")
        return self.effective(run)

    def resume(self, run_id: str, *, env: dict[str, str] | None = None, accept_changes: bool = False) -> Status:
        """Requeue and start the worker under the run's lock: of N resumes at once, one starts a worker
        and the others are told "already resumed by pid N" (the lock passes to that worker). Refused when
        the run changed since its checkpoint (engine/fingerprint.py) unless ``accept_changes``."""
        from tailor.engine.fingerprint import record_report
        from tailor.engine.runs.diskspace import wrap_disk_full

        self.require_stack("resuming a run here")
        run = self.run(run_id)
        self._refuse_live(run)
        if run.status_file.exists() and run.status_problem() is not None:
            # Rebuilt from events.jsonl first (as `tailor runs --repair`), so the checks below read the
            # run's real links and checkpoint, not a stand-in.
            self.repair(run_id)
        self._check_space(run)
        report = self.check_resume(run, accept_changes)
        deadline = time.monotonic() + LOCK_RELEASE_S
        while True:
            try:
                with lock.held(run.path) as fd:
                    run.requeue(self.heartbeat_timeout)  # a corrupt status.json is rebuilt from events.jsonl first
                    record_report(run, report)
                    self.spawn(run, resume=True, env=env, lock_fd=fd)
                break
            except lock.RunLocked:
                # A worker that was just killed is reported dead (its pid is gone) a moment before the
                # kernel has released everything it held: wait for that, never for a live worker.
                if not self._worker_gone(run) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            except OSError as exc:
                raise wrap_disk_full(exc, run.path) or exc from None
        return self.effective(run)

    def _refuse_live(self, run: RunDir) -> None:
        """A run whose worker is alive is not resumed: say it is running, not that someone resumed it."""
        try:
            status = run.effective_status(self.heartbeat_timeout, self.queued_timeout)
        except RunError:
            return  # a corrupt status.json: requeue rebuilds it
        if status.state.active:
            pid = f" (pid {status.pid})" if status.pid else ""
            raise RunError(f"run {run.run_id} is still {status.state.value}{pid}; nothing to resume: "
                           f"`tailor logs -f {run.run_id}` follows it, `tailor cancel {run.run_id}` stops it")

    def _check_space(self, run: RunDir) -> None:
        """The launch's free-space check (the same estimate and message) before a resume writes anything."""
        from tailor.engine.memory_estimate import check_launch_space
        from tailor.engine.recipes.load import parse_recipe

        try:
            recipe = parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file),
                                  check_files=False)
        except (OSError, TailorError):
            return  # the worker reports an unreadable recipe with its own message
        check_launch_space(self.runs_dir, recipe)

    def check_resume(self, run: RunDir, accept_changes: bool) -> ResumeReport:
        """What changed since the run's checkpoint; raises ResumeRefused unless accepted. Library versions
        are compared only when the worker runs in this interpreter."""
        import sys

        from tailor.engine.fingerprint import ResumeReport, check_resume

        with contextlib.suppress(RunError):  # an unrepairable status: requeue refuses it with its reason
            state = run.effective_status(self.heartbeat_timeout, self.queued_timeout).state
            if state == RunState.SUCCEEDED or state.active:
                return ResumeReport(None)  # requeue refuses it with its own reason
        same = self.python is None or Path(self.python).resolve() == Path(sys.executable).resolve()
        return check_resume(run, accept_changes=accept_changes, same_interpreter=same)

    def _worker_gone(self, run: RunDir) -> bool:
        try:
            return run.effective_status(self.heartbeat_timeout, self.queued_timeout).state.terminal
        except RunError:
            return False

    def repair(self, run_id: str) -> Status:
        """Rebuild status.json from events.jsonl (``tailor runs --repair``), under the run's lock."""
        run = self.run(run_id)
        with lock.held(run.path, what="running"):
            run.repair()
        return self.effective(run)

    def delete(self, run_id: str) -> str:
        """Remove a finished run directory (refused while its worker may still write to it)."""
        import shutil

        run = self.run(run_id)
        status = run.effective_status(self.heartbeat_timeout, self.queued_timeout)
        if status.state.active:
            raise RunError(f"run {run.run_id} is {status.state.value}; cancel it before deleting")
        shutil.rmtree(run.path)
        return str(run.path)


def configured_heartbeat_timeout() -> float:
    """``heartbeat_timeout_s`` from the config (30 s by default): older heartbeats mean stalled or dead."""
    try:
        from tailor.engine.config import settings

        return float(settings().heartbeat_timeout_s)
    except Exception:
        return DEFAULT_HEARTBEAT_TIMEOUT


def configured_gpu_idle_timeout() -> float:
    """``gpu_idle_timeout_s`` from the config (5 minutes by default): GPUs idle this long mean stalled."""
    from tailor.engine.runs.gpu_idle import DEFAULT_GPU_IDLE_S

    try:
        from tailor.engine.config import settings

        return float(settings().gpu_idle_timeout_s)
    except Exception:
        return DEFAULT_GPU_IDLE_S


def with_via(run: RunDir, status: Status) -> Status:
    """The status with ``via`` set: the host alias of a mirrored remote run, else "local"."""
    from tailor.engine.remote.mirror import host_of

    try:
        alias = host_of(run)
    except RunError:  # an unreadable remote.json: list it as local rather than hide it
        alias = None
    status.via = alias or "local"
    return status


def _wait_gone(pid: int, start: int | None, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid, start) and time.monotonic() < deadline:
        time.sleep(0.05)


def mark_cancelled(run: RunDir, reason: str) -> None:
    status = run.read_status()
    if status.state.terminal:
        return
    status.state = RunState.CANCELLED
    status.ended_at = time.time()
    status.error = None
    run.write_status(status)
    with run.event_writer() as events:
        events.emit("status", state="cancelled", reason=reason)
