"""Create SFT runs in a workspace and run them: in this process (``tailor.engine.worker`` main) or as real workers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from run_helpers import queue_run, run_worker  # run_worker is re-exported

from tailor.engine.recipes.load import parse_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

# A few real steps on a handful of rows: each run takes seconds once the libraries are imported.
SHORT: dict[str, Any] = {
    "train.max_steps": 4,
    "train.logging_steps": 1,
    "train.eval_steps": 2,
    "train.save_steps": 100,
    "train.per_device_train_batch_size": 4,
    "train.per_device_eval_batch_size": 8,
    "train.warmup_steps": 0,
    "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 32}],
    "data.eval": [{"path": "../data/reverse/eval.jsonl", "max_rows": 8}],
}
# Workers share two busy cores with other test sessions: one thread each avoids OpenMP thrashing.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def recipe_data(ws: Any, recipe: str | dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    data = dict(recipe) if isinstance(recipe, dict) else yaml.safe_load((ws.recipes_dir / recipe).read_text())
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


def write_recipe(ws: Any, name: str, recipe: str | dict[str, Any], overrides: dict[str, Any] | None = None) -> Path:
    """Write a recipe (a workspace recipe with overrides applied) into the workspace's recipes/."""
    path = ws.recipes_dir / name
    path.write_text(yaml.safe_dump(recipe_data(ws, recipe, overrides), sort_keys=False))
    return path


def make_run(ws: Any, recipe: str | dict[str, Any], overrides: dict[str, Any] | None = None) -> RunDir:
    """A queued run of ``recipe`` (a file in the workspace's recipes/, or a mapping)."""
    data = recipe_data(ws, recipe, overrides)
    parsed = parse_recipe(data, source=str(ws.recipes_dir / "test.yaml"), base_dir=ws.recipes_dir)
    return queue_run(ws, parsed)


def succeeded(run: RunDir) -> Status:
    status = run_worker(run)
    assert status.state == RunState.SUCCEEDED, (status.error, tail(run.stderr_file))
    return status


def tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def metrics(run: RunDir, split: str = "train") -> list[dict[str, Any]]:
    """The metric events of one split, in order: [{"step": n, **values}]."""
    return [{"step": e["step"], **e["values"]} for e in run.events() if e["type"] == "metric" and e["split"] == split]


def logs(run: RunDir) -> list[str]:
    return [e["message"] for e in run.events() if e["type"] == "log"]


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_terminal(executor: Any, run_id: str, timeout: float = 300.0) -> Status:
    return wait_until(
        lambda: (s := executor.control.status(run_id)).state.terminal and s, timeout, f"run {run_id} to end", 0.2
    )


def reference_logits_match(run: RunDir, model: Any) -> float:
    """Max |difference| between ``model``'s logits and the ones the worker recorded at the end of training."""
    from tailor.engine.train.loop import compare_logits, load_reference_logits

    reference = load_reference_logits(run)
    assert reference is not None, "the worker recorded no reference logits"
    return compare_logits(reference, model)


def load_result(run: RunDir) -> Any:
    """The trained model as a user would load it: base + adapter (PEFT), or the saved model."""
    import json

    from transformers import AutoModelForCausalLM

    from tailor.engine.models.tiny import tiny_path

    if (run.adapter_dir / "adapter_config.json").exists():
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(tiny_path())
        return PeftModel.from_pretrained(base, run.adapter_dir)
    assert json.loads((run.adapter_dir / "config.json").read_text())["model_type"] == "llama"
    return AutoModelForCausalLM.from_pretrained(run.adapter_dir)
