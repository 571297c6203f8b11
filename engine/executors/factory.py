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
