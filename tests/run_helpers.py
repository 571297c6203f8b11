"""Helpers shared by the tests that train in-process: queue a run, run its worker here."""

from __future__ import annotations

import signal

from tailor.engine.recipes import dump_recipe
from tailor.engine.runs import RunDir, Status, new_run_id


def queue_run(ws, parsed) -> RunDir:
    """A queued run directory for an already-validated recipe, as ``LocalExecutor.launch`` creates it."""
    run_id = new_run_id(getattr(parsed, "name", None), parsed.kind)
    status = Status(run_id=run_id, kind=parsed.kind, name=getattr(parsed, "name", None))
    return RunDir.create(ws.runs_dir, run_id, dump_recipe(parsed), status)


def run_worker(run: RunDir, *, resume: bool = False) -> Status:
    """Run the worker for ``run`` in this process, exactly as ``python -m tailor.engine.worker RUN`` would."""
    from tailor.engine.worker.__main__ import main

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        main([str(run.path)] + (["--resume"] if resume else []))
    finally:
        for sig, handler in saved.items():  # the worker installs its own; give pytest its handlers back
            signal.signal(sig, handler)
    return run.read_status()


def checkpointed_run(
    ws, recipe: dict, *, step: int = 2, max_steps: int = 60, epoch: float = 0.5, links: dict | None = None
) -> RunDir:
    """A failed run with one checkpoint and the fingerprint a worker records there, without training:
    for the resume checks (engine/fingerprint.py) that compare it with what would run now."""
    import json

    from tailor.engine.fingerprint import light_fingerprint, write_fingerprint
    from tailor.engine.recipes.load import parse_recipe
    from tailor.engine.runs.status import RunState

    run = queue_run(ws, parse_recipe(recipe, source=str(ws.recipes_dir / "test.yaml"), base_dir=ws.recipes_dir))
    if links:
        status = run.read_status()
        status.links.update(links)
        run.write_status(status)
    checkpoint = run.checkpoints_dir / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step, "epoch": epoch, "max_steps": max_steps}))
    write_fingerprint(checkpoint, {**light_fingerprint(run), "step": step, "epoch": epoch, "max_steps": max_steps})
    status = run.read_status()
    status.state, status.error = RunState.FAILED, "the worker died without reporting"
    run.write_status(status)
    return run


def running_run(workspace, idle_for: float | None) -> RunDir:
    """A running sft run whose live worker is this process, its heartbeat fresh; its GPUs idle for
    ``idle_for`` seconds (None: busy). For the idle-GPU checks (engine/runs/gpu_idle.py)."""
    import os
    import time

    from tailor.engine.runs.liveness import process_start, this_host
    from tailor.engine.runs.status import RunState

    run_id = "demo-sft-20260101-000000-9a9a"
    run = RunDir.create(workspace.runs_dir, run_id, "kind: sft\n", Status(run_id=run_id, kind="sft"))
    pid = os.getpid()  # a live worker: this process
    run.write_status(Status(run_id=run_id, kind="sft", state=RunState.RUNNING, host=this_host(), pid=pid,
                            pid_start=process_start(pid), started_at=time.time() - 900, step=120))
    run.beat(pid, 120, gpu_idle_since=None if idle_for is None else time.time() - idle_for)
    return run
