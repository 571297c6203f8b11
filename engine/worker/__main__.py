"""``python -m engine.worker RUN_DIR [--resume]``: the worker process.

Reads the frozen recipe from the run directory, runs it, and reports everything through the run
directory. Any failure ends as ``failed`` with a one-line error; the traceback goes to stderr.log.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from engine.errors import one_line
from engine.runs.rundir import RunDir
from engine.runs.status import RunState
from engine.worker import threads


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    resume = "--resume" in args
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 1:
        print("usage: python -m engine.worker RUN_DIR [--resume]", file=sys.stderr)
        return 2
    run = RunDir(Path(paths[0]))
    from engine.worker.context import WorkerContext

    ctx = WorkerContext(run, resume=resume)
    if run.cancel_requested:
        ctx.finish(RunState.CANCELLED)
        return 0
    ctx.start()
    pidfile = None
    try:
        from engine.recipes.load import parse_recipe

        recipe = parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file), check_files=False)
        pidfile = _threads(recipe, ctx)
        from engine import kinds

        kinds.run(recipe, ctx)  # the kind's runner (engine.kinds): it returns when done
    except BaseException as exc:  # every failure must end in a status
        traceback.print_exc(file=sys.stderr)
        state = RunState.CANCELLED if ctx.cancel_requested and isinstance(exc, KeyboardInterrupt) else RunState.FAILED
        ctx.finish(state, None if state == RunState.CANCELLED else one_line(exc))
        return 1 if state == RunState.FAILED else 0
    finally:
        threads.unregister(pidfile)
    ctx.finish(RunState.CANCELLED if ctx.cancel_requested else RunState.SUCCEEDED)
    return 0


def _threads(recipe: object, ctx: object) -> Path | None:
    """Choose, apply and log the CPU thread count (engine.worker.threads); returns this worker's pid file."""
    from engine.config import settings

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
    return pidfile


if __name__ == "__main__":
    sys.exit(main())
