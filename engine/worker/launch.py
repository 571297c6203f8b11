"""How a worker process is started: the command line and its environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import engine

REPO_ROOT = Path(engine.__file__).resolve().parent.parent


def worker_command(run_path: Path, *, resume: bool = False, python: str | None = None) -> list[str]:
    cmd = [python or sys.executable, "-m", "engine.worker", str(run_path)]
    if resume:
        cmd.append("--resume")
    return cmd


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The worker inherits our environment (secrets such as HF_TOKEN travel here, never in argv)."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "TRL_EXPERIMENTAL_SILENCE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
    )
    paths = [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    if extra:
        env.update(extra)
    return env
