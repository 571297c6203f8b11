"""Plain-text renderings of events and durations, shared by the CLI and the TUI."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from tailor.engine import kinds
from tailor.engine.runs.events import Event

if TYPE_CHECKING:
    from tailor.engine.runs.status import Status

# C0 controls (but not tab and newline), DEL and C1 controls: an ESC or OSC sequence in a log line or a metric
# name written by a worker (or a hostile host) must never reach the terminal as a command.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")



def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def safe(value: Any) -> str:
    """``value`` as text with control characters shown escaped (``\\x1b``), safe to print."""
    text = str(value)
    if text.isprintable():  # the usual case, checked in C: every control character is unprintable
        return text
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def state_word(status: object, *, detail: bool = True) -> str:
    """The state as every list says it: a trial stopped by the pruner is ``pruned`` (not ``cancelled``);
    otherwise the status's own label (``stalled (...)``, ``queued (PENDING: Resources)``, ...), or with
    ``detail=False`` the bare state (for a header that shows the scheduler's word beside it)."""
    # A Status keeps unknown keys as extras: look there first (a missing attribute costs pydantic 20 µs).
    extra = getattr(status, "__pydantic_extra__", None)
    if (extra.get("trial_state") if isinstance(extra, dict) else getattr(status, "trial_state", None)) == "pruned":
        return "pruned"
    label = getattr(status, "state_label", None)
    if detail and isinstance(label, str):
        return label
    state = getattr(status, "state", "")
    return str(getattr(state, "value", state))


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return safe(value)[:20]  # not a number: shown as it is, never a crash
    try:
        value = float(value)
    except OverflowError:
        return "huge"
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
        shown = kinds.key_metrics()
        key = [k for k in shown if k in values]
        keys = key + sorted(k for k in values if k not in shown)
        body = " ".join(f"{safe(k)}={number(values[k])}" for k in keys[: max(8, len(key))])
        return f"{head}{safe(event.get('split', 'train')):<5} step {event.get('step', '?')}: {body}"
    if kind == "status":
        extra = f" ({safe(event['error'])})" if event.get("error") else ""
        return f"{head}status {safe(event.get('state'))}{extra}"
    if kind == "log":
        return f"{head}{safe(event.get('level', 'info'))}: {safe(event.get('message', ''))}"
    if kind == "checkpoint":
        return f"{head}checkpoint step {event.get('step')} -> {safe(event.get('path'))}"
    if kind == "samples":  # GRPO: what the model answered and how it scored, one completion per line
        rows = event.get("rows") or []
        lines = [f"{head}samples step {event.get('step', '?')}: {len(rows)} completions"]
        lines += [f"    {_sample(r)}" for r in rows]
        return "\n".join(lines)
    if kind == "artifact":
        return f"{head}artifact {safe(event.get('name'))} -> {safe(event.get('path'))}"
    rest = {k: v for k, v in event.items() if k not in ("seq", "time", "type")}
    return f"{head}{safe(kind)} {safe(rest)}"


def _sample(row: dict) -> str:
    """``'Reverse: abcd' -> 'dcba'  exact_match=1 · adv 0.94`` (texts shortened, newlines shown as ⏎)."""
    def short(text: object) -> str:
        flat = str(text).replace("\n", "⏎")
        return repr(flat if len(flat) <= 60 else flat[:59] + "…")

    rewards = " ".join(f"{safe(k)}={number(v)}" for k, v in (row.get("rewards") or {}).items())
    adv = f" · adv {number(row['advantage'])}" if row.get("advantage") is not None else ""
    return f"{short(row.get('prompt', ''))} -> {short(row.get('completion', ''))}  {rewards}{adv}"


def damaged_note(lines: list[int], shown: int = 5) -> str:
    """``3 damaged event lines skipped (line 17, 22, 40)`` (empty when none): what readers dropped, said
    once, so a reader never loses events silently."""
    if not lines:
        return ""
    numbers = ", ".join(str(n) for n in lines[:shown]) + (", …" if len(lines) > shown else "")
    plural = "s" if len(lines) > 1 else ""
    return f"{len(lines)} damaged event line{plural} skipped (line {numbers})"


def state_label(status: Status) -> str:
    """The run's state as listings show it: ``queued (PENDING: Resources)``, ``stalled (...)``."""
    return status.state_label
