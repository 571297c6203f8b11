"""Tailor on an 8B-shaped Llama on one GPU: peak GPU memory against the fit estimate, tokens/s against plain TRL.

No download: a Llama with Llama-3.1-8B's shapes (hidden 4096, 32 layers, 32 heads, 8 key-value heads,
intermediate 14336, vocabulary 128256) is built from a ``LlamaConfig`` on the device with random weights
(bfloat16), with the built-in tiny model's tokenizer, and saved to a folder that the recipes point at.
It is then trained for a few steps four times, each in a fresh process:

- through Tailor's worker (launched by ``LocalExecutor``), with LoRA and with QLoRA (bitsandbytes 4-bit),
  from a recipe that sets only the model, data, method, steps, batch and max_length: Tailor's defaults;
- through a plain TRL ``SFTTrainer`` script at TRL's defaults on the same folder, data, batch, max_length
  and LoRA (QLoRA: the same ``BitsAndBytesConfig`` Tailor uses).

One table: tokens/s of the training loop (``bench/real_model.py``'s ``rates``: from the end of step 1 to the
last step), the peak GPU memory of the run (the GPU's ``memory.used`` above its idle level, from nvidia-smi
while it runs: the CUDA context included, as the estimate counts it), Tailor's fit estimate for the recipe
(``tailor.engine.memory_estimate``; the target is within 10%) and the process's peak RSS.

The data are conversational prompt/completion rows of random words, 350 to 1850 characters (mean 1100; the
tokenizer has one token per character), so about half the rows are cut at max_length 1024 and batches vary
in length. The model has 8.03B parameters; Tailor's estimate for the two recipes (batch 4 x 1024, activation
checkpointing on, as on any GPU) is ~20.4 GiB for LoRA and ~10.1 GiB for QLoRA.

``--cpu`` is the same bench at the size of a test: a tiny Llama of the same family (GQA, SwiGLU), LoRA only
(bitsandbytes needs CUDA), three steps, peak GPU columns empty. The suite runs it
(tests/train/test_bench_gpu.py). Run it through ``bench/gpu.sh``; it needs torch, transformers, trl, peft
and, on the GPU, bitsandbytes.

    bench/gpu.sh [--steps 8] [--batch 4] [--max-length 1024]
    bench/gpu.sh --cpu
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.real_model import rates, run_tailor  # noqa: E402  (after the path is set)

GIB = 1024**3
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear"}
# Llama-3.1-8B's shapes (meta-llama/Llama-3.1-8B config.json), and a tiny model of the same family for --cpu
LLAMA_8B = {
    "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False,
}
LLAMA_TINY = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
    "intermediate_size": 224, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
}

PLAIN = r"""
import json, sys, time, resource
import datasets, torch, transformers
from peft import LoraConfig
from transformers import BitsAndBytesConfig, TrainerCallback
from trl import SFTConfig, SFTTrainer

args = json.loads(sys.argv[1])
datasets.disable_progress_bars()
transformers.utils.logging.set_verbosity_error()
steps = []
class Steps(TrainerCallback):
    def on_log(self, a, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            steps.append((time.time(), logs.get("num_tokens", 0)))
quant = None
if args["method"] == "qlora":
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                               bnb_4bit_use_double_quant=True)
cuda = torch.cuda.is_available()
config = SFTConfig(output_dir=args["out"], max_steps=args["steps"], per_device_train_batch_size=args["batch"],
                   max_length=args["max_length"], logging_steps=1, save_strategy="no", report_to="none",
                   disable_tqdm=True, seed=42, data_seed=42, **({} if cuda else {"bf16": False}))
train = datasets.load_dataset("json", data_files=args["data"], split="train")
# the model as a path: TRL loads it with its own defaults, as a plain script does
trainer = SFTTrainer(model=args["model"], args=config, train_dataset=train, quantization_config=quant,
                     peft_config=LoraConfig(task_type="CAUSAL_LM", **args["lora"]), callbacks=[Steps()])
trainer.train()
print("RESULT " + json.dumps({"steps": steps, "batch": args["batch"],
      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def build_model(folder: Path, *, cpu: bool) -> None:
    """A random-init Llama (8B shapes, or tiny) with the tiny model's tokenizer, saved to ``folder``.

    Runs in its own process (``--build``) so that the bench process never holds a CUDA context.
    """
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from tailor.engine.models.tiny import tiny_path

    transformers.utils.logging.disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(tiny_path())
    shape = LLAMA_TINY if cpu else LLAMA_8B
    dtype = torch.float32 if cpu else torch.bfloat16
    config = LlamaConfig(
        **{"vocab_size": len(tok), **shape},
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    with torch.device("cpu" if cpu else "cuda"):  # initialised on the GPU, in the saved dtype: seconds, not minutes
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)


def write_data(path: Path, rows: int, seed: int = 0) -> None:
    """Conversational prompt/completion rows of random words, 350 to 1850 characters in all."""
    rng = random.Random(seed)

    def words(n: int) -> str:
        out = " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(n))
        return out.capitalize() + "."

    lines = []
    for _ in range(rows):
        prompt, completion = words(rng.randint(20, 60)), words(rng.randint(30, 230))
        lines.append(json.dumps({"prompt": [{"role": "user", "content": prompt}],
                                 "completion": [{"role": "assistant", "content": completion}]}))
    path.write_text("\n".join(lines) + "\n")


class GpuPeak:
    """Peak GPU memory of a run: the GPU's ``memory.used`` (nvidia-smi) above its level before the run, sampled
    in a thread while the run goes on. The whole GPU, not per process: containers often hide the processes
    from nvidia-smi, and nothing else runs on the bench's GPU. None where there is no nvidia-smi (--cpu)."""

    QUERY = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "--id=0"]

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._idle = 0.0

    @classmethod
    def used(cls) -> float:
        out = subprocess.run(cls.QUERY, capture_output=True, text=True, check=True).stdout
        return float(out.split()[0]) * 1024**2

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak or 0.0, self.used() - self._idle)
            self._stop.wait(self.interval)

    def __enter__(self) -> GpuPeak:
        if shutil.which("nvidia-smi"):
            self._idle = self.used()
            self.peak = 0.0
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def tailor_recipe(model: Path, data: Path, method: str, opts: argparse.Namespace) -> dict:
    """Tailor's defaults: only the model, data, method, step budget, batch and max_length are set."""
    return {
        "kind": "sft", "name": f"bench-gpu-{method}", "seed": 42,
        "model": {"name_or_path": str(model), "dtype": "float32" if opts.cpu else "bfloat16"},
        "method": method, "lora": LORA,
        "data": {"train": str(data)},
        "train": {"max_steps": opts.steps, "logging_steps": 1, "save_steps": opts.steps + 1,
                  "per_device_train_batch_size": opts.batch, "max_length": opts.max_length},
    }


def fit_estimate(ws, recipe: dict) -> float | None:
    from tailor.engine.memory_estimate import estimate_recipe
    from tailor.engine.recipes.load import parse_recipe

    parsed = parse_recipe(recipe, source=str(ws.recipes_dir / "bench-gpu.yaml"), base_dir=ws.recipes_dir)
    return estimate_recipe(parsed).total


def run_plain(args: dict, env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", PLAIN, json.dumps(args)], capture_output=True, text=True,
                          env={**os.environ, **env})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"plain TRL run failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def _gib(value: float | None) -> str:
    return "-" if value is None else f"{value / GIB:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", action="store_true", help="a tiny Llama, LoRA only, 3 steps: the suite's variant")
    parser.add_argument("--steps", type=int, help="optimizer steps per run (default 8; --cpu: 3)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, help="default 1024; --cpu: 256")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # internal: build the model, in a subprocess
    opts = parser.parse_args(argv)
    opts.steps = opts.steps or (3 if opts.cpu else 8)
    opts.max_length = opts.max_length or (256 if opts.cpu else 1024)
    if opts.build:
        build_model(opts.build, cpu=opts.cpu)
        return

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-gpu-"))
    os.environ.setdefault("TAILOR_CACHE", str(tmp / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tailor.engine.workspace import Workspace

    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRL_EXPERIMENTAL_SILENCE": "1",
           "TAILOR_CACHE": os.environ["TAILOR_CACHE"]}
    ws = Workspace(tmp / "ws").ensure()
    model, data = tmp / "model", tmp / "train.jsonl"
    start = time.time()
    subprocess.run([sys.executable, __file__, "--build", str(model), *(["--cpu"] if opts.cpu else [])],
                   check=True, env={**os.environ, **env})
    write_data(data, rows=max(64, opts.steps * opts.batch * 2))
    size = "tiny Llama (hidden 64, 2 layers, GQA 4/1)" if opts.cpu else "8B-shaped Llama (Llama-3.1-8B shapes)"
    print(f"{size}, random init, built and saved in {time.time() - start:.0f}s; LoRA r=16 all-linear, "
          f"batch {opts.batch} x max_length {opts.max_length}, {opts.steps} steps", flush=True)

    methods = ["lora"] if opts.cpu else ["lora", "qlora"]
    header = f"{'side':<22} {'method':<6} {'tokens/s':>9} {'peak GPU GiB':>12} {'estimate GiB':>12} {'peak/est':>8} {'RSS GiB':>7}"
    rows: list[str] = []
    speed: dict[str, dict[str, float]] = {}
    fit: dict[str, float] = {}
    for method in methods:
        recipe = tailor_recipe(model, data, method, opts)
        est = fit_estimate(ws, recipe)
        plain_args = {"model": str(model), "data": str(data), "out": str(tmp / f"plain-{method}"), "steps": opts.steps,
                      "batch": opts.batch, "max_length": opts.max_length, "lora": LORA, "method": method}
        for side in ("Tailor (defaults)", "plain TRL (defaults)"):
            with GpuPeak() as gpu:
                got = run_tailor(ws, recipe, env) if side.startswith("Tailor") else run_plain(plain_args, env)
            tps = rates(got)[1]
            speed.setdefault(method, {})[side] = tps
            ratio = "-"
            if side.startswith("Tailor") and gpu.peak is not None and est:
                fit[method] = gpu.peak / est
                ratio = f"{fit[method]:.2f}x"
            rows.append(f"{side:<22} {method:<6} {tps:>9.1f} {_gib(gpu.peak):>12} "
                        f"{_gib(est if side.startswith('Tailor') else None):>12} {ratio:>8} {_gib(got['rss']):>7}")
            print(f"  done: {side}, {method} ({time.time() - start:.0f}s)", flush=True)
    print()
    print(header)
    print("\n".join(rows))
    for method, sides in speed.items():
        ours, theirs = sides["Tailor (defaults)"], sides["plain TRL (defaults)"]
        print(f"Tailor / TRL tokens/s, {method}: {ours / max(theirs, 1e-9):.2f}x")
    for method, ratio in fit.items():
        verdict = "within 10%" if abs(ratio - 1) <= 0.10 else "OFF by more than 10%"
        print(f"fit estimate, {method}: peak is {ratio:.2f}x the estimate ({verdict})")
    print(f"total {time.time() - start:.0f}s", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
