"""GPU inventory from ``nvidia-smi`` on a host, and a host probe (reachability, Python, Tailor)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tailor.engine.errors import HostError
from tailor.engine.remote.connection import HostConnection

QUERY = "index,name,memory.total,memory.used,utilization.gpu"
NVIDIA_SMI = ["nvidia-smi", f"--query-gpu={QUERY}", "--format=csv,noheader,nounits"]
MIB = 1024 * 1024


@dataclass
class GPU:
    index: int
    name: str
    memory_total_mib: int
    memory_used_mib: int
    utilization_pct: int | None

    @property
    def memory_free_mib(self) -> int:
        return max(0, self.memory_total_mib - self.memory_used_mib)


def parse_nvidia_smi(text: str) -> list[GPU]:
    """Parse ``nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu`` CSV."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 5:
            continue
        # A GPU name can hold commas: the fixed fields are the first one and the last three.
        index, name, total, used, util = parts[0], ", ".join(parts[1:-3]), parts[-3], parts[-2], parts[-1]
        gpus.append(GPU(int(index), name, _int(total) or 0, _int(used) or 0, _int(util)))
    return gpus


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


async def gpu_inventory(conn: HostConnection) -> list[GPU]:
    """The host's GPUs; an empty list when it has none (or no NVIDIA driver)."""
    result = await conn.run(NVIDIA_SMI, timeout=30)
    if result.exit_status == 0:
        return parse_nvidia_smi(str(result.stdout or ""))
    return []  # 127: no nvidia-smi; 9/other: driver not loaded -> "no GPU"


@dataclass
class Probe:
    host: str
    reachable: bool
    error: str | None = None
    latency_ms: float | None = None
    hostname: str | None = None
    python: str | None = None
    python_version: str | None = None
    tailor_version: str | None = None
    gpus: list[GPU] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for g, gpu in zip(data["gpus"], self.gpus, strict=True):
            g["memory_free_mib"] = gpu.memory_free_mib
        return data


async def probe(conn: HostConnection) -> Probe:
    """Connect, read the Tailor/Python versions there and the GPU inventory; errors are recorded."""
    start = time.monotonic()
    try:
        await conn.get(attempts=1)
    except HostError as exc:
        return Probe(conn.name, False, error=str(exc))
    result = Probe(conn.name, True, latency_ms=round((time.monotonic() - start) * 1000, 1))
    try:
        info = await conn.op("info")
        result.hostname = info["hostname"]
        result.python = info["python"]
        result.python_version = info["python_version"]
        result.tailor_version = info["tailor_version"]
    except HostError as exc:
        result.error = str(exc)
        py = await conn.run(["python3", "-c", "import sys; print(sys.version.split()[0])"], timeout=30)
        if py.exit_status == 0:
            result.python, result.python_version = "python3", str(py.stdout).strip()
    try:
        result.gpus = await gpu_inventory(conn)
    except HostError as exc:
        result.error = result.error or str(exc)
    return result
