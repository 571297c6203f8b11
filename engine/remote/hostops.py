"""Host operations shared by the CLI (``tailor hosts``) and the TUI (Hosts screen): each opens a
connection to one configured host, does one thing, and closes it.

List, probe (reachability, versions, GPUs), read and trust the host key, set up Tailor there, GPU
inventory, fit check, the multi-node doctor. Callers outside engine/remote use these and never a connection's internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.remote.connection import HostConnection
from tailor.engine.remote.hosts import all_hosts, get_host, resolve, ssh_settings

if TYPE_CHECKING:
    from tailor.engine.memory_estimate import FitEstimate, FitVerdict
    from tailor.engine.remote.gpus import GPU, Probe
    from tailor.engine.remote.known_hosts import HostKeyCheck
    from tailor.engine.workspace import Workspace

PROBE_TIMEOUT_S = 30.0


@asynccontextmanager
async def connected(ws: Workspace, name: str) -> AsyncIterator[HostConnection]:
    """A connection to host ``name`` for the length of the block (closed even on error)."""
    conn = HostConnection.for_workspace(ws, get_host(ws, name))
    try:
        yield conn
    finally:
        await conn.close()


def list_hosts(ws: Workspace) -> list[dict[str, Any]]:
    """Every host (workspace.yaml and ~/.ssh/config) with its resolved address; no connection."""
    settings = ssh_settings(ws)
    rows = []
    for name, host in all_hosts(ws).items():
        r = resolve(host, settings)
        rows.append(
            {
                "name": name,
                "type": host.type,
                "source": host.source,
                "address": f"{r.user}@{r.hostname}:{r.port}",
                "python": host.python,
                "workdir": host.workdir,
            }
        )
    return rows


async def probe_host(ws: Workspace, name: str, *, timeout: float = PROBE_TIMEOUT_S) -> Probe:
    """Reachability, latency, Python and Tailor versions and GPUs; failures are recorded, not raised."""
    from tailor.engine.remote.gpus import Probe, probe

    async with connected(ws, name) as conn:
        try:
            return await asyncio.wait_for(probe(conn), timeout)
        except TimeoutError:
            return Probe(name, False, error="timed out")


async def doctor(ws: Workspace, name: str, *, tasks: int = 2, nodes: int = 1, port: int | None = None,
                 timeout: float = 60.0) -> dict[str, Any]:
    """Before a multi-node launch: versions on every node, the rendezvous reachable, a short all-reduce
    with its bandwidth, and suggestions (engine/remote/doctor.py, run on the host)."""
    payload = {"tasks": tasks, "nodes": nodes, "port": port, "timeout": timeout}
    async with connected(ws, name) as conn:
        return await conn.op("doctor", payload=payload, timeout=timeout + 120, retry=False)


async def probe_hosts(ws: Workspace, names: list[str]) -> dict[str, Probe]:
    """``probe_host`` for several hosts at once."""
    results = await asyncio.gather(*(probe_host(ws, n) for n in names))
    return dict(zip(names, results, strict=True))


async def check_key(ws: Workspace, name: str) -> tuple[HostKeyCheck, Path]:
    """The key the host offers, compared with known_hosts (trusted, unknown or changed), and that file."""
    from tailor.engine.remote import known_hosts as kh

    async with connected(ws, name) as conn:
        path = conn.settings.known_hosts_path
        tunnel = await conn.tunnel()
        check = await kh.check_host_key(path, conn.resolved.hostname, conn.resolved.port, tunnel=tunnel)
        return check, path


def trust_key(path: Path, check: HostKeyCheck) -> None:
    """Add the offered key to known_hosts (after the user compared the fingerprint)."""
    from tailor.engine.remote import known_hosts as kh

    kh.trust(path, check)


async def setup(
    ws: Workspace,
    name: str,
    say: Callable[[str], Any] = lambda _m: None,
    *,
    pip_args: list[str] | None = None,
    forward_env: list[str] | None = None,
) -> dict[str, Any]:
    """Install this Tailor version on the host; return its ``info`` answer. ``pip_args``/``forward_env``:
    for this setup, beside the host's saved ``setup.pip_args``/``forward_env``."""
    from tailor.engine.remote.bootstrap import setup_host

    async with connected(ws, name) as conn:
        return await setup_host(conn, say=say, pip_args=pip_args, forward_env=forward_env)


async def gpus(ws: Workspace, name: str) -> list[GPU]:
    """The host's GPUs from nvidia-smi (empty: no GPU or no driver)."""
    from tailor.engine.remote.gpus import gpu_inventory

    async with connected(ws, name) as conn:
        return await gpu_inventory(conn)


async def fit_on(ws: Workspace, name: str, estimate: FitEstimate, gpus_wanted: int = 1) -> FitVerdict:
    """Does an estimate fit the host's free GPU memory?"""
    from tailor.engine.memory_estimate import check_fit

    return check_fit(estimate, await gpus(ws, name), gpus_wanted=gpus_wanted)
