"""An idle GPU is visible: a live worker whose GPUs sit idle while it holds their memory is ``stalled``.

A worker that beats its heartbeat but does no work on the GPU (a deadlocked collective, a data loader
waiting on a dead mount, a debugger left open) still holds its memory and the machine. The worker samples
its GPUs with every heartbeat (``nvidia-smi`` for the GPUs it was given, else ``torch.cuda`` once loaded)
and writes ``gpu_idle_since`` into the heartbeat: the time since when utilisation stayed at or below
``IDLE_PCT`` while it held at least ``HELD_MIB`` of memory. Readers (``RunDir.effective_status``) turn an
idle spell longer than ``gpu_idle_timeout_s`` (5 minutes by default) into ``gpu_idle_s``, listed as
``stalled (GPU idle 5 min)``. Without a GPU the sample is None and the heartbeat alone tells liveness.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

#: Utilisation at or below this (percent) counts as idle: monitoring and allocator work show a few percent.
IDLE_PCT = 5.0
#: Memory at or above this (MiB) counts as held: a CUDA context alone takes ~300-500 MiB.
HELD_MIB = 256.0
DEFAULT_GPU_IDLE_S = 300.0
NVIDIA_SMI = ["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used", "--format=csv,noheader,nounits"]


@dataclass(frozen=True)
class Sample:
    """One look at the worker's GPUs: the busiest one's utilisation and the memory used on them."""

    time: float
    util_pct: float
    memory_mib: float

    @property
    def idle(self) -> bool:
        return self.util_pct <= IDLE_PCT and self.memory_mib >= HELD_MIB


class IdleTracker:
    """Since when the samples have been idle (None while busy, or with nothing held)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, sample: Sample | None) -> float | None:
        if sample is None or not sample.idle:
            self.since = None
        elif self.since is None:
            self.since = sample.time
        return self.since


def parse_smi(text: str, now: float, visible: str | None = None) -> Sample | None:
    """A sample from ``nvidia-smi --query-gpu=index,utilization.gpu,memory.used`` CSV, over the GPUs in
    ``visible`` (``CUDA_VISIBLE_DEVICES`` as indices; all when unset). None when no GPU line parses."""
    wanted = {v.strip() for v in visible.split(",")} if visible else None
    utils, memory = [], 0.0
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or (wanted is not None and parts[0] not in wanted):
            continue
        try:
            utils.append(float(parts[1]))
            memory += float(parts[2])
        except ValueError:  # "[N/A]": a GPU that does not report
            continue
    return Sample(now, max(utils), memory) if utils else None


def sample_gpus(now: float) -> Sample | None:
    """The worker's GPUs now, or None without a GPU (the CPU path: the heartbeat alone)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and not visible.strip():
        return None  # hidden on purpose: a CPU run on a GPU machine
    try:
        out = subprocess.run(NVIDIA_SMI, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        out = None
    if out is not None and out.returncode == 0:
        return parse_smi(out.stdout, now, visible if visible and all(p.strip().isdigit() for p in visible.split(",")) else None)
    torch = sys.modules.get("torch")  # no nvidia-smi (a container): torch's view, once the worker loaded it
    if torch is None or getattr(getattr(torch, "__spec__", None), "_initializing", False):
        return None  # the worker's main thread is still importing it: this heartbeat thread must not touch it
    try:
        if not torch.cuda.is_available():
            return None
        return Sample(now, float(torch.cuda.utilization()), torch.cuda.memory_reserved() / 2**20)
    except Exception:  # utilization() needs pynvml, or torch is half loaded: no way to tell, so no claim
        return None


def idle_label(seconds: float) -> str:
    """``stalled (GPU idle 5 min)`` for a spell of ``seconds``."""
    minutes = int(seconds // 60)
    return f"stalled (GPU idle {minutes} min)" if minutes else f"stalled (GPU idle {int(seconds)}s)"
