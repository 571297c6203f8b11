"""``python -m tailor.engine.worker RUN_DIR [--resume]``: the worker process.

Reads the frozen recipe from the run directory, runs it, and reports everything through the run
directory. Any failure ends as ``failed`` with a one-line error; the traceback goes to stderr.log.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path

from tailor.engine.errors import one_line
from tailor.engine.runs import lock
from tailor.engine.runs.diskspace import disk_message
from tailor.engine.runs.lock import RunLocked
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.engine.worker import threads

#: Set by a warm parent in the worker it forks (engine/worker/warm.py): the parent's pid, for the log.
WARM_PARENT_ENV = "TAILOR_WARM_PARENT"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    resume = "--resume" in args
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 1:
        print("usage: python -m tailor.engine.worker RUN_DIR [--resume]", file=sys.stderr)
        return 2
    # Everything the worker and its libraries write (checkpoints, adapters, studies.db, caches of the
    # run) is private: 0700 folders, 0600 files, as the run-directory contract says.
    os.umask(0o077)
    run = RunDir(Path(paths[0]))
    try:
        lock_fd = _take_lock(run)
    except RunLocked as exc:  # another live worker owns this run: touch nothing
        print(f"tailor worker: {exc}; not starting a second worker", file=sys.stderr)
        return 3
    try:
        return _run(run, resume)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _take_lock(run: RunDir) -> int | None:
    """The run's lock for this worker's whole life (engine/runs/lock.py); None for ranks 1..N-1."""
    from tailor.engine.worker.context import is_primary_rank

    fd, handed = lock.inherited()
    if fd is not None:
        lock.write_holder(fd, os.getpid())
        return fd
    if handed or not is_primary_rank():
        return None  # the launcher of this multi-process job holds it
    return lock.acquire(run.path, what="running")


def _run(run: RunDir, resume: bool) -> int:
    from tailor.engine.worker.context import WorkerContext

    try:
        ctx = WorkerContext(run, resume=resume)
    except OSError as exc:
        print(f"tailor worker: {disk_message(exc, run.path) or one_line(exc)}", file=sys.stderr)
        return 1
    if run.cancel_requested:
        ctx.finish(RunState.CANCELLED)
        return 0
    if resume:  # a worker killed mid-save left its checkpoint unfinished: never resumed from, its space freed
        with contextlib.suppress(OSError):
            run.drop_partial_checkpoints()
    ctx.start()
    pidfile = None
    try:
        from tailor.engine.recipes.load import parse_recipe

        recipe = parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file), check_files=False)
        pidfile = _threads(recipe, ctx)
        from tailor.engine import kinds

        kinds.get(recipe.kind).runner_function()(recipe, ctx)  # the kind's runner: it returns when done
    except BaseException as exc:  # every failure must end in a status
        with contextlib.suppress(OSError):  # a save cut short: never resumed from, and its space is freed
            run.drop_partial_checkpoints()
        ctx.release_reserve()  # on a full disk: room for the traceback, the last event and status
        with contextlib.suppress(OSError):
            traceback.print_exc(file=sys.stderr)
        state = RunState.CANCELLED if ctx.cancel_requested and isinstance(exc, KeyboardInterrupt) else RunState.FAILED
        ctx.finish(state, None if state == RunState.CANCELLED else disk_message(exc, run.path) or one_line(exc))
        return 1 if state == RunState.FAILED else 0
    finally:
        threads.unregister(pidfile)
    ctx.finish(RunState.CANCELLED if ctx.cancel_requested else RunState.SUCCEEDED)
    return 0


def _threads(recipe: object, ctx: object) -> Path | None:
    """Choose, apply and log the CPU thread count (engine.worker.threads); returns this worker's pid file."""
    from tailor.engine.config import settings

    try:
        folder = threads.registry_dir()
        others = threads.other_workers(folder)
        pidfile = threads.register(folder)
    except OSError:  # no writable temp folder: count nobody else
        others, pidfile = 0, None
    res = getattr(recipe, "resources", None)
    n, why = threads.choose(getattr(res, "threads", None), settings().worker_threads, others)
    threads.apply(n, auto=why.endswith(threads.AUTO_WHY))
    ctx.log(f"CPU threads: {n} ({why}; resources.threads or TAILOR_WORKER_THREADS override it)")  # type: ignore[attr-defined]
    parent = os.environ.pop(WARM_PARENT_ENV, None)  # not passed on to the workers this one may start
    if parent:
        ctx.log(f"forked from the warm parent {parent}: torch, transformers and TRL were already imported")  # type: ignore[attr-defined]
    return pidfile


if __name__ == "__main__":
    sys.exit(main())
