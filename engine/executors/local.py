"""Runs workers as detached processes on this machine (run control: engine/control.py)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from tailor.engine.control import Control
from tailor.engine.executors.base import Executor, FetchReport, FitPolicy
from tailor.engine.runs.events import Event
from tailor.engine.runs.liveness import this_host
from tailor.engine.runs.status import Status
from tailor.engine.workspace import Workspace

POLL_S = 0.2


class LocalExecutor(Executor):
    type: ClassVar[str] = "local"
    can_kill: ClassVar[bool] = True
    host = "local"

    def __init__(
        self,
        workspace: Workspace,
        *,
        python: str | None = None,
        heartbeat_timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workspace = workspace
        self.control = Control(
            workspace,
            python=python,
            env=env,
            heartbeat_timeout=heartbeat_timeout,
            queued_timeout=self.queued_timeout,
        )
        self.heartbeat_timeout = self.control.heartbeat_timeout  # the configured heartbeat_timeout_s

    async def launch(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
        fit: FitPolicy = "skip",
    ) -> Status:
        # No GPU inventory here: the CLI and the launch form show the estimate; nothing to check against.
        return self.control.launch(recipe, name=name, overrides=overrides, links=links)

    async def status(self, run_id: str) -> Status:
        return self.control.status(run_id)

    async def list_runs(self) -> list[Status]:
        return self.control.list_runs()

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
                if until_done and self.control.effective(run).state.terminal:
                    for event in cursor.read():  # whatever landed between the two reads
                        yield event
                    return
                await asyncio.sleep(POLL_S)

    async def cancel(self, run_id: str, *, wait: float = 0.0) -> Status:
        run = self.workspace.run(run_id)
        status = self.control.cancel(run_id)
        deadline = time.monotonic() + wait
        while not status.state.terminal and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
            status = self.control.effective(run)
        return status

    async def kill(self, run_id: str) -> Status:
        return self.control.kill(run_id)

    async def resume(self, run_id: str, *, accept_changes: bool = False) -> Status:
        return self.control.resume(run_id, accept_changes=accept_changes)

    async def fetch(self, run_id: str, dest: Path | None = None) -> FetchReport:
        """A local run's files are here already; with ``dest``, copy the run directory there."""
        run = self.workspace.run(run_id)
        if dest is None:
            return FetchReport(run.path)
        dest = Path(dest)
        shutil.copytree(run.path, dest, dirs_exist_ok=True)
        files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
        return FetchReport(dest, fetched=files, bytes=sum((dest / f).stat().st_size for f in files))

    async def delete(self, run_id: str) -> str:
        return self.control.delete(run_id)

    async def info(self) -> dict[str, Any]:
        import sys

        from tailor import engine

        return {
            "hostname": this_host(),
            "python": sys.executable,
            "python_version": sys.version.split()[0],
            "tailor_version": engine.__version__,
            "workspace": str(self.workspace.root),
        }
