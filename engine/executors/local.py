"""Runs workers as detached processes on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import engine
from engine.errors import RunError
from engine.executors.base import Executor
from engine.recipes.load import dump_recipe
from engine.recipes.overrides import load_with_overrides
from engine.runs.events import Event
from engine.runs.liveness import pid_alive, this_host
from engine.runs.rundir import DEFAULT_HEARTBEAT_TIMEOUT, RunDir, new_run_id
from engine.runs.status import RunState, Status
from engine.worker.launch import spawn_worker
from engine.workspace import Workspace

POLL_S = 0.2


class LocalExecutor(Executor):
    host = "local"

    def __init__(
        self,
        workspace: Workspace,
        *,
        python: str | None = None,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workspace = workspace
        self.python = python
        self.heartbeat_timeout = heartbeat_timeout
        self.env = env or {}

    # -- launching -----------------------------------------------------------
    async def launch(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
    ) -> Status:
        return self.launch_sync(recipe, name=name, overrides=overrides, links=links)

    def launch_sync(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
    ) -> Status:
        path = Path(recipe).expanduser().resolve()
        parsed = load_with_overrides(path, overrides)
        run_id = new_run_id(name or getattr(parsed, "name", None) or path.stem, parsed.kind)
        status = Status(
            run_id=run_id,
            kind=parsed.kind,
            name=name or getattr(parsed, "name", None) or path.stem,
            host=this_host(),
            links={"recipe": str(path), **(overrides and {"overrides": overrides} or {}), **(links or {})},
            tailor_version=engine.__version__,
        )
        run = RunDir.create(self.workspace.runs_dir, run_id, dump_recipe(parsed), status)
        self._spawn(run)
        return run.read_status()

    def _spawn(self, run: RunDir, *, resume: bool = False) -> subprocess.Popen:
        proc = spawn_worker(run.path, resume=resume, python=self.python, env=self.env)
        # Reap the child when it exits so it never lingers as a zombie that looks alive.
        threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
        return proc

    # -- reading -------------------------------------------------------------
    async def status(self, run_id: str) -> Status:
        return self.status_sync(run_id)

    def status_sync(self, run_id: str) -> Status:
        return self.workspace.run(run_id).effective_status(self.heartbeat_timeout)

    async def list_runs(self) -> list[Status]:
        return self.list_runs_sync()

    def list_runs_sync(self) -> list[Status]:
        out = []
        for run in self.workspace.run_dirs():
            try:
                out.append(run.effective_status(self.heartbeat_timeout))
            except RunError:
                continue  # a half-created or foreign folder: skip it rather than fail the listing
        return out

    async def events(self, run_id: str, after: int = 0) -> list[Event]:
        return self.workspace.run(run_id).events(after)

    async def follow(self, run_id: str, after: int = 0, *, until_done: bool = True) -> AsyncIterator[Event]:
        run = self.workspace.run(run_id)
        cursor = run.cursor(after)
        while True:
            batch = cursor.read()
            for event in batch:
                yield event
            if not batch:
                if until_done and run.effective_status(self.heartbeat_timeout).state.terminal:
                    for event in cursor.read():  # whatever landed between the two reads
                        yield event
                    return
                await asyncio.sleep(POLL_S)

    # -- control -------------------------------------------------------------
    async def cancel(self, run_id: str, *, wait: float = 0.0) -> Status:
        run = self.workspace.run(run_id)
        self.cancel_sync(run_id)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if run.effective_status(self.heartbeat_timeout).state.terminal:
                break
            await asyncio.sleep(POLL_S)
        return run.effective_status(self.heartbeat_timeout)

    def cancel_sync(self, run_id: str) -> Status:
        run = self.workspace.run(run_id)
        status = run.effective_status(self.heartbeat_timeout)
        if status.state.terminal:
            raise RunError(f"run {run.run_id} is already {status.state.value}; nothing to cancel")
        run.request_cancel()
        if status.pgid and status.pid and pid_alive(status.pid, status.pid_start):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(status.pgid, signal.SIGTERM)
        elif status.pid is None:
            # Not started yet: the worker checks cancel.request at start-up; mark it now as well.
            mark_cancelled(run, "cancelled before the worker started")
        return run.effective_status(self.heartbeat_timeout)

    def kill(self, run_id: str) -> None:
        """SIGKILL the worker's process group (for a worker that ignores a cancel)."""
        run = self.workspace.run(run_id)
        status = run.read_status()
        if status.pgid and status.pid and pid_alive(status.pid, status.pid_start):
            os.killpg(status.pgid, signal.SIGKILL)
        if status.state.active:
            mark_cancelled(run, "killed")

    async def resume(self, run_id: str) -> Status:
        return self.resume_sync(run_id)

    def resume_sync(self, run_id: str) -> Status:
        run = self.workspace.run(run_id)
        run.requeue(self.heartbeat_timeout)
        self._spawn(run, resume=True)
        return run.read_status()

    async def fetch(self, run_id: str, dest: Path | None = None) -> Path:
        run = self.workspace.run(run_id)
        if dest is None:
            return run.path
        dest = Path(dest)
        shutil.copytree(run.path, dest, dirs_exist_ok=True)
        return dest


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
