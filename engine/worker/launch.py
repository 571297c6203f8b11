"""How a worker process is started: the command line and its environment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from tailor import engine

REPO_ROOT = Path(engine.__file__).resolve().parent.parent


def worker_command(
    run_path: Path,
    *,
    resume: bool = False,
    python: str | None = None,
    gpus: int | None = None,
    launcher: str | None = None,
) -> list[str]:
    """``python -m tailor.engine.worker RUN_DIR``; with more than one GPU, under accelerate launch or torchrun.

    ``gpus``/``launcher`` default to the frozen recipe's ``resources`` (one GPU: the plain command).
    """
    py = python or sys.executable
    worker = ["-m", "tailor.engine.worker", str(run_path)] + (["--resume"] if resume else [])
    if gpus is None:
        gpus, launcher = _resources(Path(run_path))
    if gpus <= 1:
        return [py, *worker]
    if launcher == "torchrun":
        return [py, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}", *worker]
    return [py, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_processes={gpus}",
            "--num_machines=1", "--mixed_precision=no", "--dynamo_backend=no", *worker]


def _resources(run_path: Path) -> tuple[int, str]:
    """``resources.gpus`` / ``resources.launcher`` of the frozen recipe (1, accelerate if absent)."""
    try:
        import yaml

        data = yaml.safe_load((run_path / "recipe.yaml").read_text(encoding="utf-8")) or {}
        res = data.get("resources") or {}
        return int(res.get("gpus", 1) or 0), str(res.get("launcher") or "accelerate")
    except (OSError, ValueError, AttributeError, TypeError):
        return 1, "accelerate"


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The worker inherits our environment (secrets such as HF_TOKEN travel here, never in argv)."""
    from tailor.engine.worker.threads import inherited_env

    env = inherited_env(dict(os.environ))
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "TRL_EXPERIMENTAL_SILENCE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
    )
    if extra:
        env.update(extra)
    return env


def spawn_worker(
    run_path: Path,
    *,
    resume: bool = False,
    python: str | None = None,
    env: dict[str, str] | None = None,
    lock_fd: int | None = None,
    command: list[str] | None = None,
) -> int:
    """Start the worker detached and return its pid: its own session (it outlives the terminal or SSH
    session that started it, no tmux needed), stdin closed, stdout/stderr appended to the run's private
    log files. Forked from a warm parent when one serves this interpreter, code and environment
    (engine/worker/warm.py), else a fresh process.

    ``lock_fd``: the run's locked descriptor (engine/runs/lock.py), handed over so the worker holds the
    lock from its first instruction. ``command``: the command line when not ``worker_command``'s
    (``Control.worker_command`` of a control that wraps it)."""
    from tailor.engine.runs.lock import FD_ENV
    from tailor.engine.worker import warm

    run_path = Path(run_path)
    command = command or worker_command(run_path, resume=resume, python=python)
    full_env = worker_env(env)
    full_env.pop(FD_ENV, None)
    stdout, stderr = run_path / "stdout.log", run_path / "stderr.log"
    with open(stdout, "ab") as out, open(stderr, "ab") as err:
        os.chmod(stdout, 0o600)
        os.chmod(stderr, 0o600)
        pid = warm.spawn(command, run_path, full_env, lock_fd)
        if pid is not None:
            return pid
        if lock_fd is not None:
            full_env[FD_ENV] = str(lock_fd)
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=run_path,
            env=full_env,
            start_new_session=True,
            close_fds=True,
            pass_fds=(lock_fd,) if lock_fd is not None else (),
        )
    # Reap the child when it exits so it never lingers as a zombie that looks alive.
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc.pid
