"""The status file of a run: replaced atomically, read by everyone."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        return self in (RunState.QUEUED, RunState.RUNNING)


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})


class Status(BaseModel):
    """Contents of ``status.json``. Unknown keys are kept so newer workers stay readable."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    kind: str
    name: str | None = None
    state: RunState = RunState.QUEUED
    host: str = ""
    pid: int | None = None
    pgid: int | None = None
    pid_start: int | None = Field(None, description="Process start time (clock ticks), guards against pid reuse.")
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    updated_at: float = Field(default_factory=time.time)
    error: str | None = None
    step: int = 0
    total_steps: int | None = None
    attempt: int = 0
    latest: dict[str, float] = Field(default_factory=dict, description="Latest value of each metric.")
    links: dict[str, Any] = Field(
        default_factory=dict, description="Lineage: study/trial, from_run, source recipe path..."
    )
    tailor_version: str = ""
    #: A cluster scheduler's word on a waiting run ("PENDING: Resources"), and its job id (Slurm hosts).
    scheduler: str | None = None
    job: str | None = None
    #: Where the run lives as seen from here: "local" or the host alias. Set by executors, never saved.
    via: str = Field("local", exclude=True)

    @property
    def elapsed(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or time.time()) - self.started_at
