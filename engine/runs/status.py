"""The status file of a run: replaced atomically, read by everyone."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tailor.engine.runs.gpu_idle import idle_label


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: Not a state a worker writes: status.json is unreadable (`tailor runs --repair RUN` rebuilds it).
    CORRUPT = "corrupt"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        return self in (RunState.QUEUED, RunState.RUNNING)


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.CORRUPT})


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
    #: Seconds since the last heartbeat of a live worker that stopped beating (SIGSTOP, a hung call);
    #: set by readers (RunDir.effective_status), None while it beats.
    stalled_s: float | None = None
    #: Seconds a live worker's GPUs have sat idle with memory held, once past ``gpu_idle_timeout_s``; set
    #: by readers (RunDir.effective_status, engine/runs/gpu_idle.py), None otherwise.
    gpu_idle_s: float | None = None
    #: Why this remote run's state is only the last known one (its host did not answer); set by readers.
    stale: str | None = None
    #: A cluster scheduler's word on a waiting run ("PENDING: Resources"), and its job id (Slurm hosts).
    scheduler: str | None = None
    job: str | None = None
    #: Where the run lives as seen from here: "local" or the host alias. Set by executors, never saved.
    via: str = Field("local", exclude=True)

    @property
    def state_label(self) -> str:
        """The state as listings show it: ``stalled (no heartbeat for 1m50s)`` for a stalled worker."""
        if self.stale and self.state.active:
            return f"{self.state.value}? (last known; {self.stale})"
        if self.stalled_s is not None and self.state.active:
            m, s = divmod(int(self.stalled_s), 60)
            return f"stalled (no heartbeat for {m}m{s:02d}s)" if m else f"stalled (no heartbeat for {s}s)"
        if self.gpu_idle_s is not None and self.state.active:
            return idle_label(self.gpu_idle_s)
        if self.scheduler and self.state.active:  # a job waiting in a cluster queue: the scheduler's word
            return f"{self.state.value} ({self.scheduler})"
        return self.state.value

    @property
    def elapsed(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or time.time()) - self.started_at
