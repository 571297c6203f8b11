"""Batched (left-padded) generation versus one prompt at a time, on the tiny model, same examples.

    .venv/bin/python bench/eval.py [--examples 100] [--batch-size 32] [--max-new-tokens 16] [--adapter DIR]

Both modes use engine.eval.generation.generate (greedy) on the demo reverse eval set rendered with the
chat template; the batched mode sorts prompts by length and left-pads each batch, the other calls
``generate`` once per prompt. Reports wall time, examples/s and new tokens/s side by side, the speedup,
and whether both modes produced identical outputs. Exit status 1 when the speedup is below 3x.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TARGET = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--adapter", default=None, help="An adapter folder (e.g. RUN/adapter) to load on the tiny model.")
    parser.add_argument("--rounds", type=int, default=1, help="Timed rounds per mode (the best is kept).")
    args = parser.parse_args()

    import torch

    from tailor.engine.data.demo import write_demo_data
    from tailor.engine.eval.candidates import Candidate, load_candidate
    from tailor.engine.eval.data import read_examples
    from tailor.engine.eval.generation import GenerationSettings, generate
    from tailor.engine.eval.prompts import render_prompt
    from tailor.engine.recipes.common import DataSource, ModelSpec

    data_dir = Path(tempfile.mkdtemp(prefix="tailor-bench-eval-"))
    write_demo_data(data_dir)
    examples = read_examples([DataSource(path=str(data_dir / "reverse" / "eval.jsonl"))])[: args.examples]
    base = ModelSpec(name_or_path="tailor/tiny")
    adapter = Path(args.adapter).resolve() if args.adapter else None
    cand = Candidate("m", "tiny", "adapter" if adapter else "base", str(adapter or "tailor/tiny"), base, path=adapter)
    model, tok = load_candidate(cand)
    prompts = [render_prompt(tok, ex) for ex in examples]
    device = next(model.parameters()).device
    print(f"model: tailor/tiny{' + ' + str(adapter) if adapter else ''} on {device} ({torch.get_num_threads()} threads), "
          f"{len(prompts)} prompts, max_new_tokens={args.max_new_tokens}, greedy")

    generate(model, tok, prompts[:4], GenerationSettings(max_new_tokens=2, batch_size=4))  # warm-up

    def timed(batch_size: int) -> tuple[float, list[str]]:
        best, outputs = float("inf"), []
        settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=batch_size)
        for _ in range(args.rounds):
            start = time.perf_counter()
            outputs = generate(model, tok, prompts, settings)
            best = min(best, time.perf_counter() - start)
        return best, outputs

    one_s, one_out = timed(1)
    batch_s, batch_out = timed(args.batch_size)
    new_tokens = sum(len(tok(o, add_special_tokens=False)["input_ids"]) + 1 for o in batch_out)  # +1: the stop token
    same = sum(a == b for a, b in zip(one_out, batch_out, strict=True))
    rows = [("one at a time", 1, one_s), ("batched (left-padded)", args.batch_size, batch_s)]
    print(f"\n{'mode':<24}{'batch':>6}{'seconds':>10}{'examples/s':>12}{'tokens/s':>10}")
    for name, bs, secs in rows:
        print(f"{name:<24}{bs:>6}{secs:>10.2f}{len(prompts) / secs:>12.1f}{new_tokens / secs:>10.0f}")
    speedup = one_s / batch_s
    print(f"\nspeedup: {speedup:.1f}x (target >= {TARGET:.0f}x); identical outputs: {same}/{len(prompts)}")
    return 0 if speedup >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
