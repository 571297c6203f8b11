"""Typed messages that workers post back to the UI (the UI never reads engine state directly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message


@dataclass
class RunsScanned(Message):
    """A fresh listing of the workspace's runs (engine ``Status`` objects), with each run's host alias.

    Remote runs are listed through their local mirrors; their host is the SSH alias, else "local".
    """

    statuses: list[Any]
    hosts: dict[str, str] = field(default_factory=dict)


@dataclass
class RunEvents(Message):
    """A coalesced batch of new events of one run (posted at most every ~100 ms per run)."""

    run_id: str
    events: list[dict[str, Any]]
    complete: bool = False  # True when the batch holds the run's full history up to now


@dataclass
class FollowEnded(Message):
    """Following a run stopped because the run is over (its last events were already posted)."""

    run_id: str


@dataclass
class RunStatusChanged(Message):
    """Launch, cancel or resume returned a new status for a run."""

    status: Any
    action: str  # "launched" | "cancelled" | "cancel requested" | "resumed"


@dataclass
class RecipesListed(Message):
    recipes: list[Path]


@dataclass
class RecipeInfo(Message):
    """The fields the launch form shows for one recipe (or the one-line error reading it)."""

    path: Path
    kind: str = ""
    values: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass
class RunFilesFound(Message):
    run_id: str
    path: Path
    entries: list[tuple[str, Path]]
