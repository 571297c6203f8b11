"""Pick the executor for a host name: ``local`` (default) or a configured SSH host."""

from __future__ import annotations

from engine.executors.base import Executor
from engine.executors.local import LocalExecutor
from engine.workspace import Workspace


def executor_for(workspace: Workspace, host: str | None = None) -> Executor:
    if host in (None, "", "local", "localhost"):
        return LocalExecutor(workspace)
    from engine.executors.ssh import SSHExecutor  # noqa: PLC0415 - asyncssh only when needed

    return SSHExecutor.for_host(workspace, host)


def executor_for_run(workspace: Workspace, run_ref: str) -> Executor:
    """The executor that owns a run: its SSH host for a mirrored remote run (remote.json), else local."""
    from engine.remote.mirror import host_of  # noqa: PLC0415 - light (no asyncssh)

    return executor_for(workspace, host_of(workspace.run(run_ref)))
