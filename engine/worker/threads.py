"""How many CPU threads a worker's torch may use.

On a shared machine OpenMP's default (one thread per core in every process) oversubscribes the cores:
two workers with two threads each on two cores ran 20x slower per step than with one thread each
(0.041 vs 0.82 samples/s, SmolLM2-135M LoRA). The worker therefore takes its share: the cores it may use
(its CPU affinity) divided among itself and the other live workers on this machine, at least one.

Override, first match wins: the recipe's ``resources.threads``, the setting ``worker_threads``
(``TAILOR_WORKER_THREADS``), an ``OMP_NUM_THREADS`` already set in the environment. The choice and its
reason are logged. Live workers are counted through pid files in a per-user folder of the machine
(``$XDG_RUNTIME_DIR/tailor-workers`` or ``/tmp/tailor-workers-<uid>``), whatever their workspace.
Light: stdlib only; torch is only touched when it is already imported.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path


def inherited_env(env: dict[str, str]) -> dict[str, str]:
    """A child worker's environment: a count this worker chose for itself is not passed on as an override."""
    if env.pop(AUTO_MARK, None):
        env.pop("OMP_NUM_THREADS", None)
        env.pop("MKL_NUM_THREADS", None)
    return env


def registry_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "tailor-workers" if runtime and Path(runtime).is_dir() else Path(tempfile.gettempdir()) / f"tailor-workers-{os.getuid()}"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return base


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def other_workers(folder: Path | None = None) -> int:
    """Live workers on this machine other than this process (stale pid files are removed)."""
    folder = folder or registry_dir()
    count = 0
    for entry in folder.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if _alive(int(entry.name)):
            count += 1
        else:
            entry.unlink(missing_ok=True)
    return count


def register(folder: Path | None = None) -> Path:
    """This worker's pid file (removed by :func:`unregister`)."""
    path = (folder or registry_dir()) / str(os.getpid())
    path.touch()
    return path


def unregister(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


AUTO_WHY = " on this machine"


def choose(recipe_threads: int | None, setting: int | None, others: int, cores: int | None = None) -> tuple[int, str]:
    """(threads, why) for a worker; see the module docstring for the order."""
    if recipe_threads:
        return recipe_threads, "resources.threads in the recipe"
    if setting:
        return setting, "the worker_threads setting"
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env), "OMP_NUM_THREADS in the environment"
    cores = cores or usable_cores()
    share = max(1, cores // (others + 1))
    return share, f"{cores} usable cores shared with {others} other live worker{'s' if others != 1 else ''}{AUTO_WHY}"


AUTO_MARK = "TAILOR_THREADS_AUTO"  # set when the count was chosen here: workers this one starts choose again


def apply(threads: int, *, auto: bool = False) -> None:
    """Set the thread count for OpenMP/MKL (read when torch loads) and for torch if already loaded."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if auto:
        os.environ[AUTO_MARK] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
