"""Plain-text renderings of events and durations, shared by the CLI and the TUI."""

from __future__ import annotations

import time

from engine.runs.events import Event

# Each kind's key metrics, always shown (SFT: loss; DPO/ORPO/KTO: the rewards and KL), before any others.
_SHOWN = (
    "loss", "eval_loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected",
    "eval_rewards/margins", "eval_rewards/accuracies", "kl", "mean_token_accuracy", "eval_mean_token_accuracy",
    "learning_rate", "grad_norm", "samples_per_second",
)


def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.2e}"
    return f"{value:.4g}"


def event_line(event: Event) -> str:
    """One human line for an event: ``HH:MM:SS #seq type details``."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", 0)))
    kind = event.get("type", "?")
    head = f"{stamp} #{event.get('seq', '?'):<5} "
    if kind == "metric":
        values = event.get("values", {})
        key = [k for k in _SHOWN if k in values]
        keys = key + sorted(k for k in values if k not in _SHOWN)
        body = " ".join(f"{k}={number(values[k])}" for k in keys[: max(8, len(key))])
        return f"{head}{event.get('split', 'train'):<5} step {event.get('step', '?')}: {body}"
    if kind == "status":
        extra = f" ({event['error']})" if event.get("error") else ""
        return f"{head}status {event.get('state')}{extra}"
    if kind == "log":
        return f"{head}{event.get('level', 'info')}: {event.get('message', '')}"
    if kind == "checkpoint":
        return f"{head}checkpoint step {event.get('step')} -> {event.get('path')}"
    if kind == "artifact":
        return f"{head}artifact {event.get('name')} -> {event.get('path')}"
    rest = {k: v for k, v in event.items() if k not in ("seq", "time", "type")}
    return f"{head}{kind} {rest}"


def eta(step: int, total: int | None, elapsed: float | None) -> float | None:
    if not total or not elapsed or step <= 0 or step >= total:
        return None
    return elapsed / step * (total - step)
