"""``tailor hosts doctor HOST``: before a multi-node launch, check that the nodes can train together.

Runs on the host (the ``doctor`` op of engine/remote/server.py): a Slurm host starts one task per node with
``srun`` (``--nodes``, ``--tasks``), a plain SSH host starts ``--tasks`` processes on itself. Every task
(engine/remote/doctor_task.py) reports its versions, reaches the rendezvous on the first node at the port a
multi-node launch uses (``RDZV_PORT``) and takes part in a short all-reduce (gloo on CPU, NCCL on GPUs).
:func:`verdict` turns the reports into checks and concrete suggestions: which node differs, which port
to free or open, which variable to set.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
from typing import Any

from tailor.engine.remote.slurm import RDZV_PORT

VERSIONED = ("python", "torch", "tailor", "nccl")


def run_doctor(*, slurm: bool, python: str, tasks: int, nodes: int, port: int = RDZV_PORT,
               timeout: float = 60.0) -> dict[str, Any]:
    """Start the tasks (in the host's environment: its ``env`` settings came with the op), collect their
    JSON lines, and judge them."""
    task = [python, "-m", "tailor.engine.remote.doctor_task", "--port", str(port), "--world", str(tasks),
            "--timeout", str(int(timeout / 2))]
    if slurm:
        return _srun(task, tasks, nodes, port, timeout)
    head = socket.gethostname()
    procs = [subprocess.Popen([*task, "--head", head, "--rank", str(rank)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for rank in range(tasks)]
    reports = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        reports += _reports(out)
    return verdict(reports, tasks, port)


def _srun(task: list[str], tasks: int, nodes: int, port: int, timeout: float) -> dict[str, Any]:
    """The tasks as one srun step: each gets SLURM_PROCID, the head is the allocation's first node."""
    script = ('head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1); exec '
              + " ".join(shlex.quote(a) for a in task) + ' --head "$head"')
    argv = ["srun", f"--nodes={nodes}", f"--ntasks={tasks}", "--kill-on-bad-exit=0", "sh", "-c", script]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return verdict([], tasks, port, launcher=f"srun did not finish in {timeout + 30:.0f}s")
    except OSError as exc:
        return verdict([], tasks, port, launcher=f"srun could not start: {exc}")
    reports = _reports(proc.stdout)
    error = " ".join(proc.stderr.split())[-300:] if proc.returncode != 0 and len(reports) < tasks else None
    return verdict(reports, tasks, port, launcher=error)


def _reports(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "rank" in data:
            out.append(data)
    return sorted(out, key=lambda r: r["rank"])


def verdict(reports: list[dict[str, Any]], tasks: int, port: int, launcher: str | None = None) -> dict[str, Any]:
    """Checks ({name, ok, detail}) and suggestions from the tasks' reports."""
    checks: list[dict[str, Any]] = []
    tips: list[str] = []

    def check(name: str, ok: bool, detail: str, tip: str | None = None) -> None:
        checks.append({"name": name, "ok": ok, "detail": detail})
        if not ok and tip:
            tips.append(tip)

    nodes = sorted({r.get("node", "?") for r in reports})
    check("tasks", len(reports) == tasks, f"{len(reports)} of {tasks} tasks reported on {', '.join(nodes) or 'no node'}"
          + (f" ({launcher})" if launcher else ""),
          "see the error above: is the partition up and does `srun` work from the login node?")
    for key in VERSIONED:
        values: dict[str, list[str]] = {}
        for r in reports:
            values.setdefault(str(r.get(key)), []).append(r.get("node", "?"))
        if not values or (key == "nccl" and set(values) == {"None"}):
            continue  # no GPU anywhere: NCCL does not take part
        shown = "; ".join(f"{v} on {', '.join(sorted(set(n)))}" for v, n in values.items())
        check(f"{key} version", len(values) == 1, shown,
              f"install the same {key} on every node (they differ: {shown}); a shared virtual environment "
              "(hosts.HOST.python) avoids it")
    head = next((r for r in reports if r.get("rank") == 0), None)
    for r in reports:
        reach = r.get("reach") or {}
        if reach.get("ok"):
            continue
        error = str(reach.get("error", "no answer"))
        if r.get("rank") == 0:
            check("rendezvous", False, f"{r.get('node')}: {error}",
                  f"port {port} on {r.get('node')} is taken or blocked: free it (`ss -ltnp 'sport = :{port}'` shows "
                  "who holds it) or let the nodes reach it through the firewall")
        else:
            check("rendezvous", False, f"{r.get('node')} (task {r.get('rank')}): {error}",
                  f"{r.get('node')} cannot reach {head.get('node') if head else 'the first node'}:{port}: open the port "
                  "between the nodes, or set GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME (hosts.HOST.env) to the interface "
                  "they share")
    if reports and all((r.get("reach") or {}).get("ok") for r in reports):
        check("rendezvous", True, f"{head.get('node') if head else '?'}:{port} reached from every task")
    reduced: list[dict[str, Any]] = [r["allreduce"] for r in reports if isinstance(r.get("allreduce"), dict)]
    if reduced:
        failed = [a for a in reduced if not a.get("ok")]
        backend = reduced[0].get("backend", "?")
        if failed:
            tip = ("set NCCL_IB_DISABLE=1 (fall back to TCP) and NCCL_SOCKET_IFNAME to the nodes' shared interface in "
                   "hosts.HOST.env" if backend == "nccl" else
                   "set GLOO_SOCKET_IFNAME to the interface the nodes share in hosts.HOST.env")
            check("all-reduce", False, f"{backend}: {failed[0].get('error', 'failed')}", tip)
        else:
            slowest = min(a.get("busbw_gbps", 0.0) for a in reduced)
            check("all-reduce", True, f"{backend}, {reduced[0].get('mib')} MiB x {len(reduced)} tasks: "
                                      f"{slowest:g} Gbit/s bus bandwidth (slowest task)")
    return {"ok": bool(checks) and all(c["ok"] for c in checks), "checks": checks, "suggestions": tips,
            "tasks": reports}


def doctor_lines(name: str, report: dict[str, Any]) -> list[str]:
    """The doctor's answer as ``tailor hosts doctor`` prints it and the Hosts screen shows it."""
    from tailor.engine.runs.format import safe

    lines = [f"{name}: {'ready for a multi-node launch' if report['ok'] else 'not ready'}"]
    lines += [f"  {'ok ' if c['ok'] else 'FAIL'} {c['name']}: {safe(c['detail'])}" for c in report["checks"]]
    lines += [f"  fix: {safe(tip)}" for tip in report["suggestions"]]
    return lines
