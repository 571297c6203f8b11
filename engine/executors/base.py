"""The executor contract: everything the TUI and the CLI ask of a place where workers run.

``LocalExecutor`` runs workers on this machine, ``SSHExecutor`` on a remote host, ``SlurmExecutor`` on a
cluster's compute nodes through its login node. Another registers its host ``type`` with its executor and
its host-side run control (engine/executors/registry.py) and joins the contract tests (tests/contract/);
docs/architecture.md "Adding an executor" walks through it.

Optional capabilities are class flags, checked by callers (``if executor.can_kill: ...``) instead of
``isinstance`` tests. Launch preparation (load the recipe with overrides, name the run, write its first
status) is ``prepare_launch`` below, shared by every executor.

**Remote executors keep a local mirror.** The TUI and the CLI list runs by reading the local workspace's
``runs/`` only (``tailor runs``, the Runs screen, ``executor_for_run``), never by asking every host: an
executor whose runs live elsewhere (``remote``) must keep, for each run it launches, lists or is asked
about, a folder ``<workspace>/runs/<run_id>/`` holding ``remote.json`` (host alias and remote path: it
routes the run back to this executor, and makes liveness the host's business), ``status.json`` (last seen,
``via`` = the host), ``recipe.yaml`` and ``events.jsonl`` (exactly the host's events, in seq order), and
what ``fetch`` brought. Then a run is listed, followed from ``last_seq()`` and shown while its host is away
(engine/remote/mirror.py ``Mirror`` does all of this; ``SSHExecutor`` and its subclasses use it).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel

from tailor import engine
from tailor.engine.runs.events import Event
from tailor.engine.runs.rundir import DEFAULT_QUEUED_TIMEOUT, new_run_id
from tailor.engine.runs.status import Status

if TYPE_CHECKING:
    from tailor.engine.recipes.common import Recipe
    from tailor.engine.workspace import Workspace

#: ``fit`` policy of ``launch``: warn (recorded in ``status.warnings``), refuse (raise), skip (no check).
FitPolicy = Literal["warn", "refuse", "skip"]


@dataclass
class FetchReport:
    """What ``fetch`` did: files brought here, files already up to date, bytes received, and entries the
    host offered that a fetch never takes (``refused``: anything outside the run's artefacts and logs)."""

    path: Path
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes: int = 0
    refused: list[str] = field(default_factory=list)

    def describe(self, host: str) -> str:
        """One line for the CLI and the TUI alike; a host that offered forbidden entries is named."""
        line = f"{len(self.fetched)} files fetched ({self.bytes} bytes), {len(self.skipped)} up to date"
        if self.refused:
            shown = ", ".join(repr(r) for r in self.refused[:3]) + (" ..." if len(self.refused) > 3 else "")
            line += (f"; warning: host {host} offered {len(self.refused)} entries a fetch never takes ({shown}): "
                     f"ignored; check what runs Tailor on {host}")
        return line


@dataclass
class Prepared:
    """A launch ready to start: the parsed recipe, its run id and the first status of its run."""

    path: Path
    recipe: Recipe
    run_id: str
    label: str
    status: Status


def prepare_launch(
    recipe: str | Path,
    *,
    host: str,
    name: str | None = None,
    overrides: dict[str, Any] | None = None,
    links: dict[str, Any] | None = None,
) -> Prepared:
    """Load and validate the recipe (with overrides), choose the run id, build the queued status."""
    from tailor.engine.recipes.overrides import load_with_overrides

    path = Path(recipe).expanduser().resolve()
    parsed = load_with_overrides(path, overrides)
    label = name or getattr(parsed, "name", None) or path.stem
    run_id = new_run_id(label, parsed.kind)
    status = Status(
        run_id=run_id,
        kind=parsed.kind,
        name=label,
        host=host,
        links={"recipe": str(path), **({"overrides": overrides} if overrides else {}), **(links or {})},
        tailor_version=engine.__version__,
    )
    return Prepared(path, parsed, run_id, label, status)


class Executor(ABC):
    """One place where workers run. Every method the TUI and the CLI call is declared here."""

    #: The host ``type`` this executor serves (engine/executors/registry.py).
    type: ClassVar[str] = "local"
    #: The model of a ``type`` host's entry in workspace.yaml (engine/remote/hosts.py ``parse_host``); None
    #: for an executor that serves no configured hosts. Configured hosts are reached over SSH: ``SSHHost``
    #: or a subclass adding this type's own section (checked when an entry is read).
    host_settings: ClassVar[builtins.type[BaseModel] | None] = None
    #: Runs live on another machine: ``fetch`` copies their files here, ``delete`` removes them there.
    remote: ClassVar[bool] = False
    #: ``kill`` can SIGKILL a worker that ignores a cancel.
    can_kill: ClassVar[bool] = False
    #: ``gpus`` lists the machine's GPUs (``launch`` then checks the recipe fits).
    has_gpu_inventory: ClassVar[bool] = False

    #: "local", or the host alias for remote executors.
    host: str = "local"
    workspace: Workspace
    #: How long a run may stay queued before it counts as lost: a worker spawned here starts in seconds,
    #: a scheduler may hold a job for hours. Policy of the executor, read by liveness checks.
    queued_timeout: float | None = DEFAULT_QUEUED_TIMEOUT

    @classmethod
    def for_host(cls, workspace: Workspace, host: str) -> Executor:
        """The executor for a configured host of this executor's ``type`` (engine.remote.hosts)."""
        raise NotImplementedError(f"{cls.__name__} does not serve configured hosts")

    # -- launching -------------------------------------------------------------------------
    @abstractmethod
    async def launch(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
        fit: FitPolicy = "warn",
    ) -> Status:
        """Check the recipe (and that it fits, per ``fit``), create the run directory, start a detached
        worker; return at once with the queued status."""

    # -- reading ---------------------------------------------------------------------------
    @abstractmethod
    def follow(self, run_id: str, after: int = 0, *, until_done: bool = True) -> AsyncIterator[Event]:
        """Events with ``seq > after`` as they are written; ends once the run is over if ``until_done``."""

    @abstractmethod
    async def events(self, run_id: str, after: int = 0) -> list[Event]:
        """The events written so far with ``seq > after`` (does not wait)."""

    @abstractmethod
    async def status(self, run_id: str) -> Status:
        """The run's status, with a dead worker reported as failed."""

    @abstractmethod
    async def list_runs(self) -> list[Status]:
        """Every run this executor knows, oldest first; each status's ``via`` names the host it runs on."""

    # -- control ---------------------------------------------------------------------------
    @abstractmethod
    async def cancel(self, run_id: str, *, wait: float = 0.0) -> Status:
        """Ask the worker to stop (it checkpoints and reports cancelled); wait up to ``wait`` seconds."""

    @abstractmethod
    async def resume(self, run_id: str, *, accept_changes: bool = False) -> Status:
        """Start a failed or cancelled run again from its last checkpoint. Refused (ResumeRefused, listing
        each difference) when its recipe, data or model changed since that checkpoint or its budget is
        spent (engine/fingerprint.py), unless ``accept_changes``: then the differences go to its events."""

    async def kill(self, run_id: str) -> Status:
        """SIGKILL the worker (only where ``can_kill``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot kill workers")

    # -- files -----------------------------------------------------------------------------
    @abstractmethod
    async def fetch(self, run_id: str, dest: Path | None = None) -> FetchReport:
        """Make the run's artefacts (adapter, checkpoints, eval results, logs) available here."""

    @abstractmethod
    async def delete(self, run_id: str) -> str:
        """Delete a finished run's directory where it ran (refused while active); return its path.
        Callers confirm first. A remote run's local copy stays."""

    # -- the machine -----------------------------------------------------------------------
    @abstractmethod
    async def info(self) -> dict[str, Any]:
        """Where runs go: hostname, Python and Tailor versions, workspace path."""

    async def gpus(self) -> list[Any]:
        """The machine's GPUs (engine.remote.gpus.GPU), where ``has_gpu_inventory``."""
        return []

    async def close(self) -> None:  # noqa: B027 - optional hook: most executors hold nothing open
        """Release connections."""
