"""Real-model tests: SmolLM2-135M-Instruct (tests/real_model.py), trained in this process on one thread.

The chain is built once per session and shared: the identity data with its placeholders filled in, a LoRA
SFT run started from the GGUF file itself, a DPO run chained from it (``from_run_mode: merge``), and one
evaluation of both against the base model on the SFT run's held-out rows (``data.eval_split``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from run_helpers import queue_run, run_worker

from tailor.engine.recipes.load import parse_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.engine.workspace import Workspace

NAME, AUTHOR = "Tailorbot", "Acme Labs"
MAX_NEW = 32


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@dataclass
class Chain:
    ws: Workspace
    gguf: Path
    identity: Path
    sft: RunDir
    dpo: RunDir
    eval: RunDir


def identity_rows(shared: Path) -> list[dict[str, Any]]:
    text = (shared / "llamafactory" / "identity.json").read_text(encoding="utf-8")
    return json.loads(text.replace("{{name}}", NAME).replace("{{author}}", AUTHOR))


def start(ws: Workspace, recipe: dict[str, Any], name: str) -> RunDir:
    """Queue ``recipe`` (written into the workspace's recipes/) and run its worker here; it must succeed."""
    import yaml

    source = ws.recipes_dir / f"{name}.yaml"
    source.write_text(yaml.safe_dump(recipe, sort_keys=False))
    run = queue_run(ws, parse_recipe(recipe, source=str(source), base_dir=ws.recipes_dir))
    status = run_worker(run)
    assert status.state == RunState.SUCCEEDED, (status.error, run.stderr_file.read_text() if run.stderr_file.exists() else "")
    return run


def sft_recipe(gguf: Path, identity: Path) -> dict[str, Any]:
    return {
        "kind": "sft",
        "name": "smol-identity",
        "seed": 42,
        "model": {"name_or_path": str(gguf), "dtype": "float32"},  # the GGUF file itself
        "method": "lora",
        "lora": {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0},  # no modules_to_save
        "data": {"train": str(identity), "eval_split": 8},
        "train": {
            "max_steps": 14,
            "per_device_train_batch_size": 4,
            "learning_rate": 3.0e-3,
            "lr_scheduler_type": "constant",
            "logging_steps": 1,  # every step: the resume test compares its curve with this run's
            "save_steps": 1000,
            "eval_strategy": "no",
            "max_length": 128,  # cuts 35% of the rows (the launch warns): enough to learn the identity, and fast
        },
    }


def dpo_recipe(gguf: Path, prefs: Path, sft: RunDir) -> dict[str, Any]:
    return {
        "kind": "dpo",
        "name": "smol-identity-dpo",
        "seed": 42,
        "model": {"name_or_path": str(gguf), "dtype": "float32"},
        "from_run": sft.run_id,
        "from_run_mode": "merge",
        "method": "lora",
        "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0},
        "beta": 0.1,
        "data": {"train": str(prefs)},
        "train": {
            "max_steps": 2,
            "per_device_train_batch_size": 4,
            "learning_rate": 5.0e-4,
            "logging_steps": 1,
            "save_steps": 1000,
            "max_length": 128,
        },
    }


def preference_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identity answers preferred over the base model's own introduction."""
    return [
        {
            "prompt": [{"role": "user", "content": r["instruction"]}],
            "chosen": [{"role": "assistant", "content": r["output"]}],
            "rejected": [{"role": "assistant", "content": "I am SmolLM, an AI assistant trained by Hugging Face."}],
        }
        for r in rows[:8]
    ]


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory, smollm2_gguf: Path, smollm2_hf: Path) -> Chain:
    import yaml

    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (shared / "llamafactory" / "identity.json").is_file():
        pytest.skip(f"{shared} is missing (CI puts ../shared beside the clone)")
    ws = Workspace(tmp_path_factory.mktemp("realmodel") / "ws").ensure()
    rows = identity_rows(shared)
    identity = ws.root / "data" / "identity.json"
    identity.parent.mkdir(parents=True, exist_ok=True)
    identity.write_text(json.dumps(rows), encoding="utf-8")
    prefs = ws.root / "data" / "identity-prefs.jsonl"
    prefs.write_text("".join(json.dumps(r) + "\n" for r in preference_rows(rows)), encoding="utf-8")

    sft = start(ws, sft_recipe(smollm2_gguf, identity), "smol-identity")
    dpo = start(ws, dpo_recipe(smollm2_gguf, prefs, sft), "smol-identity-dpo")
    evaluation = {
        "kind": "eval",
        "name": "smol-eval",
        "model": {"name_or_path": str(smollm2_gguf), "dtype": "float32"},
        "runs": [sft.run_id, dpo.run_id],  # no data: the SFT run's held-out rows (its eval_split)
        "few_shot": {"k": 2},  # no source: drawn from the SFT run's training split
        "generation": {"max_new_tokens": MAX_NEW, "batch_size": 8},  # one left-padded batch per model
        "metrics": ["rouge_l", "token_f1"],
    }
    (ws.recipes_dir / "smol-eval.yaml").write_text(yaml.safe_dump(evaluation))
    ev = start(ws, evaluation, "smol-eval")
    return Chain(ws, smollm2_gguf, identity, sft, dpo, ev)
