"""The one executor interface: launch / follow from seq / cancel / status / fetch.

``LocalExecutor`` runs workers on this machine; ``SSHExecutor`` runs them on a remote host. Both
speak the run directory contract, so the TUI and the CLI never care which one they hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from engine.runs.events import Event
from engine.runs.status import Status


class Executor(ABC):
    #: "local", or the host alias for remote executors.
    host: str = "local"

    @abstractmethod
    async def launch(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
    ) -> Status:
        """Validate the recipe, create the run directory and start a detached worker; return at once."""

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
        """Every run this executor knows, oldest first."""

    @abstractmethod
    async def cancel(self, run_id: str, *, wait: float = 0.0) -> Status:
        """Ask the worker to stop (it checkpoints and reports cancelled); wait up to ``wait`` seconds."""

    @abstractmethod
    async def resume(self, run_id: str) -> Status:
        """Start a failed or cancelled run again from its last checkpoint."""

    @abstractmethod
    async def fetch(self, run_id: str, dest: Path | None = None) -> Path:
        """Make the run's artefacts (adapter, checkpoints, eval results) available locally; return the path."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
