"""Create GRPO (and SFT) runs in a workspace and run their worker in this process (real training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from run_helpers import queue_run, run_worker

from tailor.engine.recipes.load import parse_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

#: A few fast GRPO steps from the base model: 2 prompts x 4 completions per step.
SHORT: dict[str, Any] = {
    "from_run": None,
    "num_generations": 4,
    "train.max_steps": 2,
    "train.per_device_train_batch_size": 8,
    "train.logging_steps": 1,
    "train.save_steps": 100,
    "samples": {"every": 1, "count": 2},
    "data.train": [{"path": "../data/reverse-prompts/train.jsonl", "max_rows": 16}],
    "data.eval": None,
    "train.eval_on_start": False,
}


def recipe_data(ws: Any, name: str = "demo-grpo.yaml", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    data = yaml.safe_load((ws.recipes_dir / name).read_text())
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None and last == "from_run":
            node.pop(last, None)
        else:
            node[last] = value
    return data


def make_run(ws: Any, name: str = "demo-grpo.yaml", overrides: dict[str, Any] | None = None) -> RunDir:
    """A queued run of the workspace recipe ``name`` with dotted overrides (``from_run: None`` drops it)."""
    data = recipe_data(ws, name, overrides)
    parsed = parse_recipe(data, source=str(ws.recipes_dir / name), base_dir=ws.recipes_dir)
    return queue_run(ws, parsed)


def finished(run: RunDir, state: RunState = RunState.SUCCEEDED) -> Status:
    status = run_worker(run)
    assert status.state == state, (status.error, run.stderr_file.read_text() if run.stderr_file.exists() else "")
    return status


def resume_worker(run: RunDir) -> Status:
    """``python -m tailor.engine.worker RUN --resume`` in this process (pytest's signal handlers given back)."""
    import signal

    from tailor.engine.worker.__main__ import main

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        main([str(run.path), "--resume"])
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return run.read_status()


def metrics(run: RunDir) -> list[dict[str, Any]]:
    return [{"step": e["step"], **e["values"]} for e in run.events() if e["type"] == "metric" and e["split"] == "train"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
