"""Chat latency through Tailor's chat worker: time to first token and decoding rate per model.

    python bench/chat_latency.py [-w WORKSPACE] [TARGET ...]     # targets: model:NAME, a run id, base

Default targets: the built-in tiny model (``model:tailor/tiny``) and, when the workspace has a
succeeded demo-sft run, that run's adapter. A real pretrained model can be named as ``model:/path``.
Each target: one warm-up answer, then five greedy answers of up to 32 tokens; the medians are printed
beside transformers' own ``generate`` on the same model (the peer: no worker, no streaming).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tailor.engine.chat.client import ChatWorker
from tailor.engine.chat.protocol import ChatSettings
from tailor.engine.workspace import open_workspace

PROMPT = [{"role": "user", "content": "Reverse: wxyz. Then write a short sentence about the sea."}]


async def measure(ws, target: str, rounds: int = 5) -> dict:
    worker = await ChatWorker.start(ws)
    try:
        loaded = await worker.load(target)
        settings = ChatSettings(max_new_tokens=32)
        await worker.answer(PROMPT, settings)  # warm-up
        done = [await worker.answer(PROMPT, settings) for _ in range(rounds)]
    finally:
        await worker.close()
    rates = [d["tokens_per_s"] for d in done if d.get("tokens_per_s")]
    return {"target": target, "label": loaded["label"], "load_s": loaded["seconds"],
            "ttft_s": statistics.median(d["ttft_s"] for d in done),
            "tokens": statistics.median(d["tokens"] for d in done),
            "tokens_per_s": statistics.median(rates) if rates else None}


def peer(ws, target: str, rounds: int = 5) -> float | None:
    """Plain transformers generate (whole answer, no streaming) on the same model: tokens/s overall."""
    from tailor.engine.chat.stream import render_chat
    from tailor.engine.chat.worker import resolve
    from tailor.engine.eval.candidates import load_candidate

    model, tok = load_candidate(resolve(ws, target, None))
    text, special = render_chat(tok, PROMPT)
    batch = tok(text, return_tensors="pt", add_special_tokens=special)
    import torch

    rates = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=32, do_sample=False, pad_token_id=tok.pad_token_id)
        n = out.shape[1] - batch["input_ids"].shape[1]
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-w", "--workspace", default=None)
    parser.add_argument("-p", "--prompt", default=None, help="The user turn (default: a reversal and a sentence).")
    parser.add_argument("targets", nargs="*")
    args = parser.parse_args()
    if args.prompt:
        PROMPT[0]["content"] = args.prompt
    ws = open_workspace(args.workspace)
    targets = args.targets or ["model:tailor/tiny"]
    if not args.targets:
        runs = sorted((r for r in ws.run_dirs() if r.run_id.startswith("demo-sft") and r.read_status().state.value == "succeeded"),
                      key=lambda r: r.run_id)
        targets += [runs[-1].run_id] if runs else []
    print(f"{'model':44} {'load s':>7} {'1st token s':>12} {'tok/s':>8} {'tokens':>7} {'peer tok/s':>11}")
    for target in targets:
        r = asyncio.run(measure(ws, target))
        p = peer(ws, target)
        rate = f"{r['tokens_per_s']:.1f}" if r["tokens_per_s"] else "-"
        print(f"{r['label'][:44]:44} {r['load_s']:7.2f} {r['ttft_s']:12.3f} {rate:>8} {r['tokens']:7.0f} {p or 0:11.1f}")


if __name__ == "__main__":
    main()
