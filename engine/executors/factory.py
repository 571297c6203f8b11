"""Pick the executor for a host name: ``local`` (default) or a configured host, by its ``type``."""

from __future__ import annotations

from tailor.engine.executors.base import Executor
from tailor.engine.executors.local import LocalExecutor
from tailor.engine.executors.registry import executor_class
from tailor.engine.workspace import Workspace

LOCAL_NAMES = (None, "", "local", "localhost")


def executor_for(workspace: Workspace, host: str | None = None) -> Executor:
    if host in LOCAL_NAMES:
        return LocalExecutor(workspace)
    from tailor.engine.remote.hosts import get_host  # light: pydantic and PyYAML

    assert host is not None
    config = get_host(workspace, host)
    return executor_class(config.type).for_host(workspace, config.name)


def executor_for_run(workspace: Workspace, run_ref: str) -> Executor:
    """The executor that owns a run: its host for a mirrored remote run (remote.json), else local."""
    from tailor.engine.remote.mirror import host_of  # light (no asyncssh)

    return executor_for(workspace, host_of(workspace.run(run_ref)))
