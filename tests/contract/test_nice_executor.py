"""A host type registered from this test process: an SSH host whose workers run under ``nice``.

``NiceExecutor`` (here) is the SSH executor under another ``type``; its host side, reached over the real
sshd of tests/ssh, learns the type from the plug-in module nice_type.py (named in TAILOR_PLUGINS through
the host's ``env:``), whose ``NiceControl`` prefixes the worker command with ``nice -n 10``. The type runs
the unchanged contract suite (test_executor_contract.py's tests, imported below, with this module's
``site``) and one more assertion: its worker really runs niced. docs/architecture.md "Adding an executor"
walks through these files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from ssh.conftest import FORWARD, write_ws_config

from tailor.engine.executors.base import Executor
from tailor.engine.executors.registry import register_type, unregister_type
from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.runs.status import RunState
from tailor.engine.workspace import Workspace

from .conftest import Site
from .test_executor_contract import *  # noqa: F403 - the unchanged contract suite, run against "nice"
from .test_executor_contract import LONG, RECIPE, TIMEOUT_S, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.ssh]

HERE = Path(__file__).resolve().parent
NICENESS = 10  # nice_type.NICENESS (the host's module, not imported here)


class NiceExecutor(SSHExecutor):
    """Everything as over SSH; the host builds ``nice_type.NiceControl`` for this type's runs."""

    type: ClassVar[str] = "nice"


@pytest.fixture(scope="module")
def nice_type() -> Iterator[None]:
    """The type registered in this process for this module only."""
    register_type("nice", NiceExecutor, control="nice_type:NiceControl")
    yield
    unregister_type("nice")


def make_nice(ws: Workspace, request: pytest.FixtureRequest) -> Callable[[], Executor]:
    from tailor.engine.executors.factory import executor_for

    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["TAILOR_PLUGINS"] = "nice_type"
    write_ws_config(ws, request.getfixturevalue("sshd"), ws.root.parent / "remote", type="nice", env=env)
    return lambda: executor_for(ws, "box")


@pytest.fixture(scope="module", params=[pytest.param("nice", id="nice")])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, nice_type: None) -> Site:
    """The contract suite's ``site`` (conftest.py) for the ``nice`` type instead of EXECUTORS."""
    ws = Workspace(tmp_path_factory.mktemp("contract-nice") / "ws").ensure()
    return Site("nice", ws, make_nice(ws, request))


async def test_the_worker_runs_niced(executor: Executor, site: Site) -> None:
    assert isinstance(executor, NiceExecutor)
    status = await executor.launch(site.workspace.recipes_dir / RECIPE, name="contract-nice", overrides=LONG)
    running = await wait_state(executor, status.run_id, lambda s: s.state == RunState.RUNNING and s.pid)
    assert running.pid is not None
    # The "host" is this machine: the worker's own priority, while it imports torch (seconds).
    want = min(os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19)
    assert os.getpriority(os.PRIO_PROCESS, running.pid) == want
    final = await executor.cancel(status.run_id, wait=TIMEOUT_S)
    assert final.state.terminal
