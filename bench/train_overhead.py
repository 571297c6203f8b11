"""Tailor's training overhead: the same SFT run through Tailor's worker and through a plain TRL script.

Both sides train the built-in tiny model with LoRA on the demo data, with identical TRL settings, each in a
fresh process. Tailor's side is a real detached worker launched by ``LocalExecutor`` (events, status, heartbeat,
cancel checks, per-step progress); the plain side is ``SFTTrainer(...).train()`` with no extra callbacks. The
figure compared is the Trainer's own ``train_samples_per_second`` (the training loop only: model loading and
the final save are outside it). One warm-up run of each side is discarded; then the sides alternate
(ABBA...) for ``--reps`` rounds. Reported: the medians, the median of the per-round (paired) ratios, and the
same for samples per CPU-second of the training loop (process CPU time around ``train()``), which other load
on a shared machine disturbs far less than wall-clock time.

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
import time
cpu = time.process_time()
metrics = trainer.train().metrics
cpu = time.process_time() - cpu
print("RESULT " + json.dumps({"samples_per_second": metrics["train_samples_per_second"],
                              "samples": metrics["train_samples_per_second"] * metrics["train_runtime"], "cpu": cpu}))
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


class Result:
    """One run: wall-clock samples/s of the training loop, samples per CPU-second of it, and the process wall."""

    def __init__(self, samples_per_second: float, samples: float, cpu: float, wall: float) -> None:
        self.sps = samples_per_second
        self.cpu_sps = samples / cpu
        self.wall = wall


def run_tailor(ws, recipe: Path, env: dict[str, str]) -> Result:
    from tailor.engine.executors.local import LocalExecutor

    executor = LocalExecutor(ws, env=env)
    start = time.perf_counter()
    status = executor.control.launch(recipe)
    while not (status := executor.control.status(status.run_id)).state.terminal:
        time.sleep(0.1)
    wall = time.perf_counter() - start
    run = ws.run(status.run_id)
    if status.state.value != "succeeded":
        raise SystemExit(f"tailor run failed: {status.error}\n{run.stderr_file.read_text()[-2000:]}")
    values = next(e for e in run.events() if e["type"] == "summary")["values"]
    samples = values["train_samples_per_second"] * values["train_runtime"]
    return Result(values["train_samples_per_second"], samples, values["train_cpu_seconds"], wall)


def run_plain(args: dict, env: dict[str, str]) -> Result:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PLAIN, json.dumps(args)], capture_output=True, text=True, env={**os.environ, **env}
    )
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"plain TRL run failed:\n{proc.stderr[-2000:]}")
    got = json.loads(lines[-1][7:])
    return Result(got["samples_per_second"], got["samples"], got["cpu"], wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps per run")
    parser.add_argument("--reps", type=int, default=7, help="measured rounds (each runs both sides)")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for both sides (default: inherit)")
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-train-"))
    os.environ.setdefault("TAILOR_CACHE", str(tmp / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import yaml

    from tailor.engine.models.tiny import tiny_path
    from tailor.engine.workspace import Workspace

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

    rows: list[tuple[Result, Result]] = []
    print(f"{'round':>5}  {'plain samples/s':>15}  {'Tailor samples/s':>16}  {'plain /CPU-s':>12}  {'Tailor /CPU-s':>13}  {'plain wall':>10}  {'Tailor wall':>11}")
    for i in range(opts.reps):
        order = ("plain", "tailor") if i % 2 == 0 else ("tailor", "plain")  # alternate to cancel drift
        got: dict[str, Result] = {}
        for side in order:
            got[side] = run_plain(plain_args, env) if side == "plain" else run_tailor(ws, recipe, env)
        p, t = got["plain"], got["tailor"]
        rows.append((p, t))
        print(f"{i + 1:>5}  {p.sps:>15.1f}  {t.sps:>16.1f}  {p.cpu_sps:>12.1f}  {t.cpu_sps:>13.1f}  {p.wall:>9.1f}s  {t.wall:>10.1f}s", flush=True)

    def report(label: str, pick) -> None:
        plain_med = statistics.median(pick(p) for p, _ in rows)
        tailor_med = statistics.median(pick(t) for _, t in rows)
        paired = statistics.median(1 - pick(t) / pick(p) for p, t in rows) * 100  # per-round ratio: drift cancels
        print(f"{label}: median plain TRL {plain_med:.1f}, Tailor {tailor_med:.1f}; "
              f"Tailor overhead {(plain_med - tailor_med) / plain_med * 100:+.1f}% (medians), {paired:+.1f}% (median of paired rounds)")

    report("samples/s (wall clock, training loop)", lambda r: r.sps)
    report("samples per CPU-second (training loop)", lambda r: r.cpu_sps)
    print("target: overhead < 5%; wall-clock figures swing with other load on the machine, CPU-time ones much less")


if __name__ == "__main__":
    main()
