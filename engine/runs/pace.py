"""A run's pace from its events: seconds per training step, and the ETA that follows from it.

Elapsed time over steps is several times too slow early on: it counts the worker's start-up (imports,
loading the model, reading data) as if every step paid for it. The pace is measured between train metric
events instead, less the pauses in between: an evaluation ends with its eval metric event and a save with
its checkpoint (or artifact) event, each timed from the event before it. Pauses recur (every
``eval_steps``, every ``save_steps``, and once more at the end), so the time they took so far, spread over
the steps done, is added to every step left. A status event (a resume) starts over from the next metric:
the new start-up is not a step either.
"""

from __future__ import annotations

from typing import Any

#: Event types that end a pause of the training steps (a save); an eval metric ends an evaluation.
_PAUSES = frozenset({"checkpoint", "artifact"})


class Pace:
    """Folds a run's events in, in order; ``eta(step, total)`` is the seconds left (None until measured)."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None  # (time, step) of the latest train metric
        self._mark = 0.0  # when the latest pause could have begun: the latest train metric or pause end
        self._pending = 0.0  # pause seconds since the latest train metric
        self.train_s = 0.0  # seconds spent in training steps between train metrics ...
        self.train_steps = 0  # ... and the steps they covered
        self.pause_s = 0.0  # seconds of evaluations and saves, in total

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "status":
            self.pause_s += self._pending
            self._last, self._pending = None, 0.0
            return
        train = kind == "metric" and event.get("split", "train") == "train"
        if not train and kind not in _PAUSES and kind != "metric":
            return
        try:
            t = float(event["time"])
            step = int(event["step"]) if train else 0
        except (KeyError, TypeError, ValueError, OverflowError):
            return
        if self._last is None:
            if train:
                self._last, self._mark = (t, step), t
            return
        if not train:  # an evaluation or a save ended
            self._pending += max(0.0, t - self._mark)
            self._mark = t
            return
        last_t, last_step = self._last
        if step > last_step and t >= last_t:
            self.train_s += max(0.0, t - last_t - self._pending)
            self.train_steps += step - last_step
        self.pause_s += self._pending
        self._last, self._mark, self._pending = (t, step), t, 0.0

    def seconds_per_step(self) -> float | None:
        """Training steps plus their share of the pauses, per step (None until two train metrics; after a
        resume, the pace measured before it until the new one is)."""
        if not self.train_steps:
            return None
        done = max(self._last[1] if self._last else 0, self.train_steps)
        return self.train_s / self.train_steps + (self.pause_s + self._pending) / done

    def eta(self, step: int, total: int | None, now: float | None = None) -> float | None:
        """Seconds left after ``step`` of ``total``; with ``now``, less the time since the latest train
        metric (the clock runs on between two logged steps), never below zero."""
        if not total or step >= total:
            return None
        per_step = self.seconds_per_step()
        if per_step is None:
            return None
        left = per_step * (total - max(step, 0))
        if now is not None and self._last is not None:
            left -= max(0.0, now - self._last[0])
        return max(0.0, left)


def eta_from_events(events: list[dict[str, Any]], step: int, total: int | None, now: float) -> float | None:
    """The ETA of a run whose events so far are ``events``: what ``tailor runs`` shows, as the TUI does."""
    pace = Pace()
    for event in events:
        pace.feed(event)
    return pace.eta(step, total, now)
