"""The executor contract suite runs once per executor in ``EXECUTORS``.

Each entry is ``(id, make, *marks)``: ``make(workspace, request)`` sets the executor up for that fresh,
seeded workspace (a host entry, ...) and returns a constructor of executors whose runs land there. A new executor joins the suite by adding one line to ``EXECUTORS``.
The SSH executor talks to the real OpenSSH server of tests/ssh (the ``sshd`` fixture, reused here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from slurm.conftest import slurm_cluster  # noqa: F401

# The OpenSSH server and the host entry pointing at it (tests/ssh/conftest.py), shared, not copied.
from ssh.conftest import _no_real_secrets, sshd, write_ws_config  # noqa: F401

from tailor.engine.executors.base import Executor
from tailor.engine.workspace import Workspace

# Workers share two busy cores with other test sessions: one thread each (SSH workers get the same
# through the host's ``env``, tests/ssh/conftest.py FORWARD).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def make_local(ws: Workspace, request: pytest.FixtureRequest) -> Callable[[], Executor]:
    from tailor.engine.executors.local import LocalExecutor

    return lambda: LocalExecutor(ws, env=WORKER_ENV)


def make_ssh(ws: Workspace, request: pytest.FixtureRequest) -> Callable[[], Executor]:
    from tailor.engine.executors.factory import executor_for

    write_ws_config(ws, request.getfixturevalue("sshd"), ws.root.parent / "remote")  # host "box"
    return lambda: executor_for(ws, "box")


def make_slurm(ws: Workspace, request: pytest.FixtureRequest) -> Callable[[], Executor]:
    from slurm.conftest import write_slurm_config

    from tailor.engine.executors.factory import executor_for

    cluster = request.getfixturevalue("slurm_cluster")
    write_slurm_config(ws, request.getfixturevalue("sshd"), cluster, ws.root.parent / "remote")
    return lambda: executor_for(ws, "box")


EXECUTORS: list[tuple[Any, ...]] = [
    ("local", make_local),
    ("ssh", make_ssh, pytest.mark.ssh),
    ("slurm", make_slurm, pytest.mark.slurm),
]


@dataclass
class Site:
    """One executor's workspace for a whole test module, so runs made by one test serve the next."""

    name: str
    workspace: Workspace
    make: Callable[[], Executor]
    cache: dict[str, Any] = field(default_factory=dict)

    def run_sync(self, work: Callable[[Executor], Coroutine[Any, Any, Any]]) -> Any:
        """``await work(executor)`` on a fresh executor and event loop (for module-scoped fixtures)."""

        async def main() -> Any:
            executor = self.make()
            try:
                return await work(executor)
            finally:
                await executor.close()

        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()


@pytest.fixture(
    scope="module",
    params=[pytest.param((name, make), id=name, marks=list(marks)) for name, make, *marks in EXECUTORS],
)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Site:
    name, make = request.param
    root: Path = tmp_path_factory.mktemp(f"contract-{name}")
    ws = Workspace(root / "ws").ensure()
    return Site(name, ws, make(ws, request))


@pytest.fixture
async def executor(site: Site):
    ex = site.make()
    try:
        yield ex
    finally:
        await ex.close()
