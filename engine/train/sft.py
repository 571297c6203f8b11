"""Temporary stand-in (replaced by the real SFT trainer)."""
import time


def run_sft(recipe, ctx):
    total = 30
    start = ctx.max_logged_step + 1 if ctx.resume else 1
    for step in range(max(start, 1), total + 1):
        if ctx.cancel_requested:
            return
        time.sleep(0.1)
        ctx.metric(step, {"loss": 1.0 / step})
        ctx.progress(step, total)
