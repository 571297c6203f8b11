"""One task of ``tailor hosts doctor``: ``python -m tailor.engine.remote.doctor_task --head H --port P --world N``.

Started on every node of a Slurm allocation (srun) or N times on an SSH host. Each task prints one JSON
line: its node, Python, torch, Tailor and NCCL versions; whether the rendezvous ``head:port`` answered
(task 0 listens there, as torchrun's c10d rendezvous does); and a short all-reduce across the tasks
(gloo on CPU, NCCL on GPUs) with its bus bandwidth. Every failure is a field, never a traceback, so the
doctor can say which node and which step failed (engine/remote/doctor.py).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from datetime import timedelta
from typing import Any

ELEMENTS = 4 * 1024 * 1024  # float32: 16 MiB per all-reduce
ROUNDS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--head", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--world", type=int, required=True)
    parser.add_argument("--rank", type=int, default=None, help="default: SLURM_PROCID")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    rank = args.rank if args.rank is not None else int(os.environ.get("SLURM_PROCID", "0"))
    out: dict[str, Any] = {"rank": rank, "node": socket.gethostname(), **versions()}
    # A peer that never answers can block inside the C++ store or collective: report and leave on time.
    watchdog = threading.Timer(args.timeout, _timed_out, (out, args.timeout))
    watchdog.daemon = True
    watchdog.start()
    store = rendezvous(out, args.head, args.port, rank, args.world, args.timeout)
    if store is not None:
        all_reduce(out, store, rank, args.world, args.timeout)
    watchdog.cancel()
    print(json.dumps(out), flush=True)
    return 0


def _timed_out(out: dict[str, Any], timeout: float) -> None:
    stage = "allreduce" if "reach" in out else "reach"
    out[stage] = {"ok": False, "error": f"no answer from the other tasks in {timeout:g}s"}
    print(json.dumps(out), flush=True)
    os._exit(0)


def versions() -> dict[str, Any]:
    from tailor import engine

    out: dict[str, Any] = {"python": sys.version.split()[0], "tailor": engine.__version__}
    try:
        import torch
    except ImportError:
        return {**out, "torch": None, "nccl": None}
    nccl = None
    if torch.cuda.is_available():
        try:
            nccl = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception:  # a torch built without NCCL
            nccl = None
    return {**out, "torch": torch.__version__, "nccl": nccl, "gpus": torch.cuda.device_count()}


def rendezvous(out: dict[str, Any], head: str, port: int, rank: int, world: int, timeout: float) -> Any:
    """Task 0 listens on head:port (a TCPStore, as the c10d rendezvous does); every task connects to it.
    Records ``listen`` (task 0) and ``reach`` {ok, seconds, error}; returns the store or None."""
    try:
        from torch.distributed import TCPStore
    except ImportError:
        out["reach"] = {"ok": False, "error": "torch is not installed"}
        return None
    started = time.monotonic()
    try:
        store = TCPStore(head, port, world, rank == 0, timedelta(seconds=timeout), wait_for_workers=False)
    except Exception as exc:  # in use, refused, unreachable, timed out: said as the library says it
        what = "listen on" if rank == 0 else "reach"
        out["reach"] = {"ok": False, "error": f"could not {what} {head}:{port}: {' '.join(str(exc).split())[:300]}"}
        return None
    out["reach"] = {"ok": True, "seconds": round(time.monotonic() - started, 3)}
    return store


def all_reduce(out: dict[str, Any], store: Any, rank: int, world: int, timeout: float) -> None:
    import torch
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    try:
        dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=timedelta(seconds=timeout))
        device = torch.device("cuda", int(os.environ.get("SLURM_LOCALID", "0"))) if backend == "nccl" else None
        tensor = torch.ones(ELEMENTS, dtype=torch.float32, device=device)
        dist.all_reduce(tensor)  # warm-up: connections are made here
        if device is not None:
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(ROUNDS):
            dist.all_reduce(tensor)
        if device is not None:
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - started) / ROUNDS
        ok = bool(tensor[0].item() == world ** (ROUNDS + 1))
        size = ELEMENTS * 4
        bus = size * 2 * (world - 1) / world / seconds if world > 1 else 0.0  # what the links carried
        out["allreduce"] = {"ok": ok, "backend": backend, "mib": size // 2**20, "seconds": round(seconds, 5),
                            "busbw_gbps": round(bus * 8 / 1e9, 2),
                            **({} if ok else {"error": "wrong sum: the tasks did not all take part"})}
        dist.destroy_process_group()
    except Exception as exc:
        out["allreduce"] = {"ok": False, "backend": backend, "error": " ".join(str(exc).split())[:300]}


if __name__ == "__main__":
    sys.exit(main())
