"""Tailor's training overhead: the same SFT run through Tailor's worker and through a plain TRL script.

Both sides train the built-in tiny model with LoRA on the demo data, with identical TRL settings, each in a
fresh process. Tailor's side is a real detached worker launched by ``LocalExecutor`` (events, status, heartbeat,
cancel checks, per-step progress); the plain side is ``SFTTrainer(...).train()`` with no extra callbacks. The
figure compared is the Trainer's own ``train_samples_per_second`` (the training loop only: model loading and
the final save are outside it). One warm-up run of each side is discarded; then the sides alternate
(ABBA...) for ``--reps`` rounds and the medians are compared.

    .venv/bin/python bench/train_overhead.py [--steps 200] [--reps 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BATCH = 16
LR = 3e-3
MAX_LENGTH = 64
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear"}

PLAIN = r"""
import json, sys
import datasets, transformers
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

args = json.loads(sys.argv[1])
datasets.disable_progress_bars()
transformers.utils.logging.set_verbosity_warning()
train = datasets.load_dataset("json", data_files=args["data"], split="train")
tok = AutoTokenizer.from_pretrained(args["model"])
model = AutoModelForCausalLM.from_pretrained(args["model"], dtype="float32")
config = SFTConfig(
    output_dir=args["out"], max_steps=args["steps"], per_device_train_batch_size=args["batch"],
    learning_rate=args["lr"], lr_scheduler_type="cosine", warmup_steps=10, logging_steps=10,
    max_length=args["max_length"], save_strategy="no", report_to="none", disable_tqdm=True,
    bf16=False, fp16=False, activation_checkpointing=False, dataloader_pin_memory=False, seed=42, data_seed=42,
)
trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=tok,
                     peft_config=LoraConfig(task_type="CAUSAL_LM", **args["lora"]))
metrics = trainer.train().metrics
print("RESULT " + json.dumps({"samples_per_second": metrics["train_samples_per_second"]}))
"""


def tailor_recipe(steps: int) -> dict:
    return {
        "kind": "sft",
        "name": "bench",
        "seed": 42,
        "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
        "method": "lora",
        "lora": LORA,
        "data": {"train": "../data/reverse/train.jsonl"},
        "train": {
            "max_steps": steps,
            "per_device_train_batch_size": BATCH,
            "learning_rate": LR,
            "lr_scheduler_type": "cosine",
            "warmup_steps": 10,
            "logging_steps": 10,
            "max_length": MAX_LENGTH,
            "save_steps": steps + 1,  # no checkpoint inside the loop, like the plain script
        },
    }


def run_tailor(ws, recipe: Path, env: dict[str, str]) -> tuple[float, float]:
    from engine.executors.local import LocalExecutor

    executor = LocalExecutor(ws, env=env)
    start = time.perf_counter()
    status = executor.launch_sync(recipe)
    while not (status := executor.status_sync(status.run_id)).state.terminal:
        time.sleep(0.1)
    wall = time.perf_counter() - start
    run = ws.run(status.run_id)
    if status.state.value != "succeeded":
        raise SystemExit(f"tailor run failed: {status.error}\n{run.stderr_file.read_text()[-2000:]}")
    summary = next(e for e in run.events() if e["type"] == "summary")
    return summary["values"]["train_samples_per_second"], wall


def run_plain(args: dict, env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PLAIN, json.dumps(args)], capture_output=True, text=True, env={**os.environ, **env}
    )
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"plain TRL run failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][7:])["samples_per_second"], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps per run")
    parser.add_argument("--reps", type=int, default=5, help="measured rounds (each runs both sides)")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for both sides (default: inherit)")
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-train-"))
    os.environ.setdefault("TAILOR_CACHE", str(tmp / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import yaml

    from engine.models.tiny import tiny_path
    from engine.workspace import Workspace

    ws = Workspace(tmp / "ws").ensure()
    recipe = ws.recipes_dir / "bench.yaml"
    recipe.write_text(yaml.safe_dump(tailor_recipe(opts.steps), sort_keys=False))
    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRL_EXPERIMENTAL_SILENCE": "1"}
    if opts.threads:
        env.update(OMP_NUM_THREADS=str(opts.threads), MKL_NUM_THREADS=str(opts.threads))
    plain_args = {
        "model": str(tiny_path()),
        "data": str(ws.data_dir / "reverse" / "train.jsonl"),
        "out": str(tmp / "plain-out"),
        "steps": opts.steps,
        "batch": BATCH,
        "lr": LR,
        "max_length": MAX_LENGTH,
        "lora": LORA,
    }

    print(f"tiny model, LoRA r=16, batch {BATCH}, {opts.steps} steps; threads: {opts.threads or 'default'}")
    print("warm-up (discarded) ...", flush=True)
    run_tailor(ws, recipe, env)
    run_plain(plain_args, env)

    tailor, plain = [], []
    print(f"{'round':>5}  {'plain TRL samples/s':>20}  {'Tailor samples/s':>17}  {'plain wall s':>12}  {'Tailor wall s':>13}")
    for i in range(opts.reps):
        order = ("plain", "tailor") if i % 2 == 0 else ("tailor", "plain")  # alternate to cancel drift
        got: dict[str, tuple[float, float]] = {}
        for side in order:
            got[side] = run_plain(plain_args, env) if side == "plain" else run_tailor(ws, recipe, env)
        plain.append(got["plain"][0])
        tailor.append(got["tailor"][0])
        print(f"{i + 1:>5}  {got['plain'][0]:>20.1f}  {got['tailor'][0]:>17.1f}  {got['plain'][1]:>12.1f}  {got['tailor'][1]:>13.1f}", flush=True)

    p, t = statistics.median(plain), statistics.median(tailor)
    overhead = (p - t) / p * 100
    print(f"median samples/s: plain TRL {p:.1f}, Tailor {t:.1f} -> Tailor overhead {overhead:+.1f}% (target < 5%)")


if __name__ == "__main__":
    main()
