"""The host side of ``type: slurm`` hosts: run control that submits workers with ``sbatch``.

Runs on the cluster's login node (``python -m tailor.engine.remote`` over SSH, engine/remote/server.py). A Slurm
run directory holds ``slurm.json``: the submission settings and the job id of each attempt. Status is the
run directory (written by the worker on its compute node, through the shared filesystem) corrected by the
scheduler: a job still pending stays ``queued`` with Slurm's reason in ``status.scheduler`` ("PENDING:
Resources") for as long as Slurm holds it; a job Slurm ended (time limit, preemption, node failure, an
scancel from outside Tailor) while the run directory still says active (or says cancelled without a
cancel request) ends ``failed`` with Slurm's state and reason, written into the run directory once.

The scheduler is read with ``squeue`` (live jobs), then ``scontrol show job`` (finished jobs Slurm still
remembers, ``MinJobAge``), then ``sacct`` (clusters with accounting).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tailor.engine.control import Control, mark_cancelled
from tailor.engine.errors import HostError
from tailor.engine.fsutil import atomic_write_json
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

SLURM_FILE = "slurm.json"
SCRIPT_FILE = "slurm.sh"
#: squeue/scontrol answers are reused this long (``follow`` asks for the status every 50 ms).
CACHE_S = 2.0
#: Port of the torchrun rendezvous on the first node of a multi-node job.
RDZV_PORT = 29500
#: Slurm job states after which a run that did not report its end was killed by Slurm.
SLURM_ENDED = {
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
    "PREEMPTED", "REVOKED", "TIMEOUT",
}
SLURM_WAITING = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"}
#: The Slurm settings a host's ``slurm:`` block and a recipe's ``resources:`` may give.
SPEC_KEYS = ("partition", "account", "qos", "time", "nodes", "gpus_per_node", "cpus_per_task", "mem", "sbatch")


def merged_spec(host_spec: dict[str, Any], run_path: Path) -> dict[str, Any]:
    """The host's ``slurm:`` settings with the frozen recipe's ``resources:`` on top (the recipe wins)."""
    import yaml

    spec = {k: v for k, v in (host_spec or {}).items() if k in SPEC_KEYS and v not in (None, [], "")}
    try:
        recipe = yaml.safe_load((run_path / "recipe.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, ValueError):
        recipe = {}
    resources = recipe.get("resources") or {}
    for key in SPEC_KEYS:
        value = resources.get(key)
        if value not in (None, [], ""):
            spec[key] = list(spec.get("sbatch") or []) + list(value) if key == "sbatch" else value
    # ``resources.gpus`` (default 1) is not a Slurm request: GPUs are asked for with gpus_per_node only, so a
    # recipe written for a laptop does not ask a CPU partition for a GPU.
    spec["launcher"] = resources.get("launcher") or "accelerate"
    return spec


def batch_script(run_path: Path, spec: dict[str, Any], *, python: str, resume: bool) -> str:
    """The sbatch script: #SBATCH lines from ``spec``, then the worker (one per node for several nodes)."""
    from tailor.engine.worker.launch import worker_command

    q = shlex.quote
    nodes = int(spec.get("nodes") or 1)
    gpus = int(spec.get("gpus_per_node") or 0)
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={q('tailor-' + run_path.name[:40])}",
        f"#SBATCH --chdir={q(str(run_path))}",
        f"#SBATCH --output={q(str(run_path / 'stdout.log'))}",
        f"#SBATCH --error={q(str(run_path / 'stderr.log'))}",
        "#SBATCH --open-mode=append",
        f"#SBATCH --nodes={nodes}",
        f"#SBATCH --ntasks={nodes}",  # one launcher per node (block distribution: one task on each)
    ]
    for key, flag in (("partition", "partition"), ("account", "account"), ("qos", "qos"), ("time", "time"),
                      ("cpus_per_task", "cpus-per-task"), ("mem", "mem")):
        if spec.get(key) not in (None, ""):
            lines.append(f"#SBATCH --{flag}={q(str(spec[key]))}")
    if gpus:
        lines.append(f"#SBATCH --gpus-per-node={gpus}")
    for extra in spec.get("sbatch") or []:
        extra = str(extra).strip()
        if "\n" in extra or "\r" in extra:
            raise HostError(f"sbatch line {extra!r}: one option per line")
        lines.append(extra if extra.startswith("#SBATCH") else f"#SBATCH {extra}")
    worker = ["-m", "tailor.engine.worker", str(run_path)] + (["--resume"] if resume else [])
    if nodes > 1:
        # One torchrun per node; the first node of the allocation hosts the c10d rendezvous.
        launcher = [python, "-m", "torch.distributed.run", f"--nnodes={nodes}",
                    f"--nproc_per_node={max(gpus, 1)}", "--rdzv_backend=c10d"]
        lines += [
            'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
            f"exec srun --kill-on-bad-exit=1 --ntasks={nodes} " + " ".join(q(a) for a in launcher)
            + f' --rdzv_id="tailor-$SLURM_JOB_ID" --rdzv_endpoint="$head:{RDZV_PORT}" '
            + " ".join(q(a) for a in worker),
        ]
    else:
        argv = worker_command(run_path, resume=resume, python=python, gpus=gpus or 1,
                              launcher=str(spec.get("launcher") or "accelerate"))
        lines.append("exec " + " ".join(q(a) for a in argv))
    return "\n".join(lines) + "\n"


class SlurmControl(Control):
    """``Control`` whose workers are Slurm jobs; runs without ``slurm.json`` behave as with ``Control``."""

    def __init__(self, *args: Any, spec: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # (runs that are not Slurm jobs keep the default liveness policy)
        self.spec = spec
        self._cache: dict[str, tuple[float, dict[str, str] | None]] = {}

    @classmethod
    def on_host(cls, workspace: Any, *, python: str, settings: dict[str, Any] | None = None) -> SlurmControl:
        """On the login node: ``settings`` is the host's ``slurm:`` block, sent with a launch or resume
        (``SlurmExecutor.control_settings``); other ops judge a run by its ``slurm.json``."""
        return cls(workspace, python=python, spec=settings)

    # -- submitting --------------------------------------------------------------------
    def create_and_spawn(self, run_id: str, recipe_yaml: str, status: Status) -> Status:
        run = RunDir.create(self.runs_dir, run_id, recipe_yaml, status)
        try:
            self.spawn(run)
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)  # nothing half written on the cluster
            raise
        return self.effective(run)

    def spawn(
        self, run: RunDir, *, resume: bool = False, env: dict[str, str] | None = None, lock_fd: int | None = None
    ) -> Any:
        info = read_info(run)
        if self.spec is None and info is None:
            return super().spawn(run, resume=resume, env=env, lock_fd=lock_fd)
        # A batch job starts later on a compute node: the run's lock cannot pass to it. The caller releases
        # it once the job is queued; the job's worker takes it when it starts (engine/runs/lock.py).
        from tailor.engine.worker.launch import worker_env

        host_spec = self.spec if self.spec is not None else (info or {}).get("host_spec", {})
        spec = merged_spec(host_spec, run.path)
        script = run.path / SCRIPT_FILE
        script.write_text(batch_script(run.path, spec, python=self.python or "python3", resume=resume))
        os.chmod(script, 0o700)
        # Secrets reach the job through sbatch's environment (--export=ALL), never the script or argv.
        proc = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True,
                              env=worker_env({**self.env, **(env or {})}), cwd=run.path, timeout=120)
        if proc.returncode != 0:
            err = " ".join(proc.stderr.split()) or f"exit status {proc.returncode}"
            raise HostError(f"sbatch refused run {run.run_id}: {err}")
        job = proc.stdout.strip().split(";")[0]
        jobs = (info or {}).get("jobs", []) + [job]
        atomic_write_json(run.path / SLURM_FILE, {"host_spec": host_spec, "spec": spec, "jobs": jobs, "job": job})
        with run.event_writer() as events:
            events.emit("log", level="info", message=f"submitted Slurm job {job}")
        return job

    def resume(self, run_id: str, *, env: dict[str, str] | None = None, accept_changes: bool = False) -> Status:
        from tailor.engine.fingerprint import record_report

        run = self.run(run_id)
        report = self.check_resume(run, accept_changes)
        self.effective(run)  # records a Slurm kill first, so requeue sees the run as failed
        run.requeue(self.heartbeat_timeout)
        record_report(run, report)
        try:
            self.spawn(run, resume=True, env=env)
        except HostError as exc:
            _fail(run, str(exc))
            raise
        return self.effective(run)

    def cancel(self, run_id: str) -> Status:
        run = self.run(run_id)
        info = read_info(run)
        if info is None:
            return super().cancel(run_id)
        status = self.effective(run)
        if status.state.terminal:
            from tailor.engine.errors import RunError

            raise RunError(f"run {run.run_id} is already {status.state.value}; nothing to cancel")
        run.request_cancel()
        job = self.job_state(info["job"])
        if job and job["state"] == "RUNNING":
            # SIGTERM to the worker (and srun's tasks): it saves a checkpoint and reports cancelled.
            _scancel("--signal=TERM", "--full", info["job"])
        else:
            _scancel(info["job"])
            mark_cancelled(run, "cancelled before the Slurm job started")
        return self.effective(run)

    # -- reading -----------------------------------------------------------------------
    def effective(self, run: RunDir) -> Status:
        info = read_info(run)
        if info is None:
            return super().effective(run)  # a run of a plain SSH host
        status = run.read_status()
        if status.state == RunState.SUCCEEDED or (status.state.terminal and info.get("final")):
            return self._base(run)
        cancelled_by_us = status.state == RunState.CANCELLED and run.cancel_requested
        if status.state.terminal and (status.state != RunState.CANCELLED or cancelled_by_us):
            return self._base(run)
        job = self.job_state(info["job"])
        if job is None:  # Slurm forgot the job (no accounting): trust the run directory
            return self._base(run)
        state = job["state"]
        if state in SLURM_WAITING:
            if status.state.active:
                status.scheduler = f"{state}: {job['reason']}" if job.get("reason") else state
            return with_job(status, info["job"])
        if state not in SLURM_ENDED:  # RUNNING, CONFIGURING, COMPLETING...
            if status.state == RunState.CANCELLED:  # Slurm is ending it (time limit...): wait for its verdict
                status.state = RunState.RUNNING
                return with_job(status, info["job"])
            return with_job(self._base(run) if status.pid else status, info["job"])
        if status.state.active or status.state == RunState.CANCELLED:
            reason = f"Slurm ended job {info['job']}: {state}"
            if job.get("reason") and job["reason"] not in ("None", state):
                reason += f" ({job['reason']})"
            if state == "COMPLETED" and status.state.active:
                reason = f"Slurm job {info['job']} ended but the worker did not report; see stderr.log"
            _fail(run, f"{reason}; resume it with `tailor resume {run.run_id}`")
        info["final"] = job
        atomic_write_json(run.path / SLURM_FILE, info)
        return with_job(self._base(run), info["job"])

    def _base(self, run: RunDir) -> Status:
        """The run directory's status judged without a queued timeout: Slurm may hold a job for hours."""
        from tailor.engine.control import with_via

        return with_via(run, run.effective_status(self.heartbeat_timeout, None))

    def job_state(self, job: str) -> dict[str, str] | None:
        """{"state", "reason"} of a job from squeue, scontrol or sacct; None when Slurm has no record."""
        now = time.monotonic()
        hit = self._cache.get(job)
        if hit and now - hit[0] < CACHE_S:
            return hit[1]
        state = _squeue(job) or _scontrol(job) or _sacct(job)
        self._cache[job] = (now, state)
        return state


def slurm_control_for(run: RunDir, workspace: Any, env: dict[str, str] | None = None) -> SlurmControl | None:
    """For a worker that is itself a Slurm job (a search): run control submitting its siblings as jobs
    with the same host settings; None for a run that is not a Slurm job."""
    import sys

    info = read_info(run)
    if info is None:
        return None
    return SlurmControl(workspace, python=sys.executable, env=env, spec=info.get("host_spec") or {})


def read_info(run: RunDir) -> dict[str, Any] | None:
    try:
        return json.loads((run.path / SLURM_FILE).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return None


def with_job(status: Status, job: str) -> Status:
    status.job = job
    return status


def _fail(run: RunDir, reason: str) -> None:
    status = run.read_status()
    status.state = RunState.FAILED
    status.error = reason
    status.ended_at = status.ended_at or time.time()
    run.write_status(status)
    with run.event_writer() as events:
        events.emit("status", state="failed", error=reason)


def _scancel(*args: str) -> None:
    proc = subprocess.run(["scancel", *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise HostError(f"scancel {' '.join(args)}: {' '.join(proc.stderr.split())}")


def _query(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout if proc.returncode == 0 else ""


def _squeue(job: str) -> dict[str, str] | None:
    out = _query(["squeue", "-h", "-j", job, "-o", "%T|%r"]).strip()
    if "|" not in out:
        return None
    state, reason = out.splitlines()[0].split("|", 1)
    return {"state": state.strip(), "reason": reason.strip()}


def parse_scontrol(text: str) -> dict[str, str] | None:
    """JobState and Reason from ``scontrol show job`` output."""
    state = re.search(r"\bJobState=(\S+)", text)
    if not state:
        return None
    reason = re.search(r"\bReason=(\S+)", text)
    return {"state": state.group(1), "reason": reason.group(1) if reason else ""}


def _scontrol(job: str) -> dict[str, str] | None:
    return parse_scontrol(_query(["scontrol", "show", "job", job]))


def parse_sacct(text: str) -> dict[str, str] | None:
    """State and Reason from ``sacct -n -P -X -o State,Reason`` ("CANCELLED by 1234|None")."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    if not line:
        return None
    state, _, reason = line.partition("|")
    return {"state": state.split()[0] if state.strip() else "UNKNOWN", "reason": reason.strip()}


def _sacct(job: str) -> dict[str, str] | None:
    return parse_sacct(_query(["sacct", "-n", "-P", "-X", "-j", job, "-o", "State,Reason"]))
