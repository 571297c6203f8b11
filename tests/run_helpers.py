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


def run_worker(run: RunDir) -> Status:
    """Run the worker for ``run`` in this process, exactly as ``python -m tailor.engine.worker RUN`` would."""
    from tailor.engine.worker.__main__ import main

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        main([str(run.path)])
    finally:
        for sig, handler in saved.items():  # the worker installs its own; give pytest its handlers back
            signal.signal(sig, handler)
    return run.read_status()
