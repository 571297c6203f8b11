"""What the Runs screen knows about each run, built from status listings and followed events.

Pure Python (no widgets): the table and the detail pane render from ``RunInfo``; tests can feed it
events directly.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import operator
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tailor.tui.widgets.run_settings import RunSettings

NO_SETTINGS = RunSettings()  # shared (frozen) until a run's recipe is read

if TYPE_CHECKING:  # engine.runs imports pydantic: loaded after the first paint, not with this module
    from tailor.engine.api.runs import Pace, RunState, Status

Point = tuple[float, float]
_RUN_STAMP = re.compile(r"-(\d{8}-\d{6})-[0-9a-f]{4}$")
_RUN_ID = re.compile(r"^(?P<stem>.+)-\d{8}-\d{6}-(?P<tag>[0-9a-f]{4})$")
THROUGHPUT_WINDOW = 10  # train metric events used to estimate speed when the trainer reports none
# Keys a trainer may report its own speed under, best first, with the unit shown.
_SPEED_KEYS = (
    ("train_tokens_per_second", "tok/s"),
    ("tokens_per_second", "tok/s"),
    ("train_samples_per_second", "samples/s"),
    ("samples_per_second", "samples/s"),
)


def short_model(model: str) -> str:
    """A local model folder by its last part; hub ids (org/name) as they are."""
    return model.rstrip("/").rsplit("/", 1)[-1] if model.startswith(("/", "~", ".")) else model


def short_name(run_id: str) -> str:
    """``demo-sft-20250101-120000-ab12`` -> ``demo-sft-ab12`` (the full id is in the detail pane)."""
    m = _RUN_ID.match(run_id)
    return f"{m['stem']}-{m['tag']}" if m else run_id


@dataclass(slots=True)  # thousands of them: no per-instance dict
class RunInfo:
    run_id: str
    host: str
    status: Status
    last_seq: int = 0
    history_loaded: bool = False  # all events from seq 1 are in (curves and log are complete)
    loss: list[Point] = field(default_factory=list)
    eval_loss: list[Point] = field(default_factory=list)
    lr: list[Point] = field(default_factory=list)
    #: RL runs (GRPO): the summed reward and each reward function's mean, by metric name (``reward``,
    #: ``rewards/exact_match/mean``...), drawn instead of the loss (docs/training.md, "GRPO").
    rewards: dict[str, list[Point]] = field(default_factory=dict)
    epoch: float | None = None
    grad_norm: float | None = None
    speed: str = ""  # "3.2 steps/s" or what the trainer reports
    damaged: str = ""  # "3 damaged event lines skipped (line 17, 22, 40)", read once the run has ended
    log: deque[str] = field(default_factory=lambda: deque(maxlen=5000))
    order: float = 0.0  # launch time: from the run id when it has one (resume rewrites created_at)
    settings: RunSettings = NO_SETTINGS  # method, r, lr, model, lineage
    settings_read: bool = False  # read from its recipe (for the rows on screen only)
    child_ids: list[str] = field(default_factory=list)  # runs that started from this one
    _recent: deque[tuple[float, int, float | None]] = field(default_factory=lambda: deque(maxlen=THROUGHPUT_WINDOW))
    pace: Pace | None = None  # seconds per step, from the events (the ETA): made by the first event

    # -- derived ---------------------------------------------------------------
    @property
    def state(self) -> RunState:
        return self.status.state

    @property
    def word(self) -> str:
        """The bare state as notifications and headers say it: ``pruned`` for a trial the pruner stopped."""
        from tailor.engine.api.runs import state_word

        return state_word(self.status, detail=False)

    @property
    def name(self) -> str:
        return short_name(self.run_id)

    def elapsed(self, now: float | None = None) -> float | None:
        s = self.status
        if s.started_at is None:
            return None
        end = s.ended_at if s.state.terminal and s.ended_at else (now or time.time())
        return max(0.0, end - s.started_at)

    def eta(self, now: float | None = None) -> float | None:
        """From the measured pace (start-up and evaluations left out), never from elapsed / step."""
        if not self.state.active or self.status.stalled_s is not None:
            return None  # a stalled worker has no ETA
        if self.pace is None:
            return None
        return self.pace.eta(self.status.step, self.status.total_steps, now or time.time())

    def progress(self) -> tuple[int, int | None]:
        return self.status.step, self.status.total_steps

    def latest(self, key: str) -> float | None:
        return self.status.latest.get(key)

    def cells(self, now: float | None = None) -> dict[str, str]:
        """Plain-text table cells by column key (the table styles the state cell)."""
        from tailor.engine.api.runs import duration, number, state_word

        step, total = self.progress()
        return {
            "run": self.run_id,
            "name": self.name,
            "kind": self.status.kind,
            "host": self.host,
            # "pruned" for a pruned trial, "stalled (no heartbeat for 1m50s)" for a hung worker
            "state": state_word(self.status) if self.state == self.status.state else self.state.value,
            "step": f"{step}/{total}" if total else (str(step) if step else "-"),
            "loss": number(self.latest("loss")),
            "eval": number(self.latest("eval_loss")),
            "elapsed": duration(self.elapsed(now)),
            "eta": duration(self.eta(now)),
            "method": self.settings.method,
            "r": self.settings.r,
            "lr": self.settings.lr,
            "model": short_model(self.settings.model),
            "trial": self.settings.trial_label,
        }

    def matches(self, text: str) -> bool:
        text = text.lower().strip()
        if not text:
            return True
        study = str(self.status.links.get("study") or "")  # settings are read for the rows on screen only
        hay = " ".join((self.run_id, self.status.kind, self.host, self.state.value, self.status.name or "",
                        self.settings.method, self.settings.model, study)).lower()
        return all(word in hay for word in text.split())

    # -- updates -------------------------------------------------------------
    def update_status(self, status: Status) -> None:
        """A fresher status from a listing; keeps what the events already moved further."""
        same_attempt = status.attempt == self.status.attempt
        if same_attempt and self.state.terminal and status.state.active and self.last_seq:
            return  # the listing read status.json just before the worker's final write
        if same_attempt and status.state.active and status.step < self.status.step:
            status = status.model_copy(
                update={"step": self.status.step, "latest": {**status.latest, **self.status.latest}}
            )
        self.status = status

    def apply(self, events: list[dict[str, Any]], *, live: bool = True) -> list[str]:
        """Fold new events in (skipping any already seen); return their log lines.

        ``live=False`` (a finished run's history read once) leaves the state alone: the listing's
        status knows better, e.g. a worker that died without writing a final event.
        """
        from tailor.engine.api.runs import event_line

        lines = []
        updates: dict[str, Any] = {}
        latest = dict(self.status.latest)
        from tailor.engine.api.runs import check_event

        for raw in events:
            event = check_event(raw)  # a malformed event is skipped, never a crash of the screen
            if event is None or event["seq"] <= self.last_seq:
                continue
            seq = event["seq"]
            self.last_seq = seq
            if self.pace is None:
                self.pace = _new_pace()
            self.pace.feed(event)
            kind = event.get("type")
            if kind == "metric":
                self._metric(event, latest, updates)
            elif kind == "status" and live:
                self._status(event, updates)
            line = event_line(event)
            self.log.append(line)
            lines.append(line)
        if updates or latest != self.status.latest:
            self.status = self.status.model_copy(update={**updates, "latest": latest})
        return lines

    def _metric(self, event: dict[str, Any], latest: dict[str, float], updates: dict[str, Any]) -> None:
        values = event.get("values") or {}
        step = int(event.get("step") or 0)
        numeric = {k: float(v) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        latest.update(numeric)
        epoch = event.get("epoch")
        if isinstance(epoch, int | float) and not isinstance(epoch, bool) and abs(epoch) < 1e300:
            self.epoch = float(epoch)  # anything else is not an epoch: not shown, never a crash
        if event.get("split", "train") == "eval":
            if "eval_loss" in numeric:
                _append(self.eval_loss, step, numeric["eval_loss"])
            elif "loss" in numeric:
                _append(self.eval_loss, step, numeric["loss"])
                latest["eval_loss"] = numeric["loss"]
            return
        if "loss" in numeric:
            _append(self.loss, step, numeric["loss"])
        if "learning_rate" in numeric:
            _append(self.lr, step, numeric["learning_rate"])
        for key, value in numeric.items():
            if key == "reward" or (key.startswith("rewards/") and key.endswith("/mean")):
                _append(self.rewards.setdefault(key, []), step, value)
        if "grad_norm" in numeric:
            self.grad_norm = numeric["grad_norm"]
        updates["step"] = max(step, updates.get("step", 0))
        self._speed(event, numeric)

    def _speed(self, event: dict[str, Any], values: dict[str, float]) -> None:
        from tailor.engine.api.runs import number

        for key, unit in _SPEED_KEYS:
            if key in values:
                self.speed = f"{number(values[key])} {unit}"
                return
        self._recent.append((float(event.get("time") or 0.0), int(event.get("step") or 0), values.get("num_tokens")))
        if len(self._recent) < 2:
            return
        (t0, s0, n0), (t1, s1, n1) = self._recent[0], self._recent[-1]
        if t1 - t0 <= 0 or s1 <= s0:
            return
        if n0 is not None and n1 is not None and n1 > n0:
            self.speed = f"{number((n1 - n0) / (t1 - t0))} tok/s · {number((s1 - s0) / (t1 - t0))} steps/s"
        else:
            self.speed = f"{number((s1 - s0) / (t1 - t0))} steps/s"

    def _status(self, event: dict[str, Any], updates: dict[str, Any]) -> None:
        from tailor.engine.api.runs import RunState

        try:
            state = RunState(str(event.get("state")))
        except ValueError:
            return
        updates["state"] = state
        if state.terminal:
            updates["ended_at"] = updates.get("ended_at") or self.status.ended_at or event.get("time")
            updates["error"] = event.get("error")
            if event.get("trial_state"):  # a trial the pruner stopped ends "cancelled" with trial_state "pruned"
                updates["trial_state"] = event["trial_state"]
        elif state == RunState.RUNNING:
            updates["error"] = None
            updates["ended_at"] = None
            if self.status.started_at is None:
                updates["started_at"] = event.get("time")
            if event.get("host"):
                pass  # the table shows the executor's host alias, not the machine name
        elif state == RunState.QUEUED and event.get("resume"):
            updates["error"] = None
            updates["ended_at"] = None


def _new_pace() -> Pace:
    from tailor.engine.api.runs import Pace

    return Pace()


def launch_time(status: Status) -> float:
    m = _RUN_STAMP.search(status.run_id)
    if m:  # by hand: strptime is the slowest part of listing 10,000 runs
        d = m.group(1)
        try:
            return time.mktime((int(d[:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]),
                                0, 0, -1))
        except (ValueError, OverflowError):
            pass
    return status.created_at


def _append(series: list[Point], step: float, value: float) -> None:
    # A resumed run re-logs steps after its last checkpoint: replace, never go backwards.
    while series and series[-1][0] >= step:
        series.pop()
    series.append((step, value))


class RunStore:
    """Every known run, in launch order. A listing of 10,000 runs costs the runs whose status changed:
    unchanged ones come back as the very same objects (engine/runs/index.py)."""

    def __init__(self, log_max_lines: int = 5000) -> None:
        self.runs: dict[str, RunInfo] = {}
        self.log_max_lines = log_max_lines
        self._ordered: list[RunInfo] | None = None  # launch order, kept until a run comes or goes
        self._listed: list[Status] = []  # the latest listing: finished runs keep their objects and places

    def __contains__(self, run_id: str) -> bool:
        return run_id in self.runs

    def get(self, run_id: str | None) -> RunInfo | None:
        return self.runs.get(run_id) if run_id else None

    def merge_listing(self, statuses: list[Status], hosts: dict[str, str] | None = None) -> Merged:
        """Apply a listing of the whole workspace: which runs came, went and changed."""
        # The first listing of 10,000 runs makes 10,000 RunInfos: the collector's full passes over the
        # app's heap meanwhile doubled the time (0.21 s -> 0.11 s without), and would free nothing.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._merge(statuses, hosts)
        finally:
            if enabled:
                gc.enable()

    def _merge(self, statuses: list[Status], hosts: dict[str, str] | None) -> Merged:
        hosts = hosts or {}
        merged = Merged()
        runs = self.runs
        fresh: Iterable[Status] = statuses
        if len(statuses) == len(self._listed):  # only the places that hold another object (compared in C)
            fresh = itertools.compress(statuses, map(operator.is_not, statuses, self._listed))
        self._listed = statuses
        for status in fresh:
            info = runs.get(status.run_id)
            if info is not None and info.status is status:
                continue  # a finished run, listed again as the very same object
            if info is None:
                info = RunInfo(status.run_id, hosts.get(status.run_id, "local"), status,
                               log=deque(maxlen=self.log_max_lines))
                info.order = launch_time(status)
                self.runs[status.run_id] = info
                merged.added.append(status.run_id)
            else:
                before = info.status
                info.update_status(status)
                if info.status != before:  # an active run read again, unchanged: nothing to redraw
                    merged.changed[status.run_id] = before.state
        if len(runs) != len(statuses):  # every listed run is held now: any other one went
            seen = {status.run_id for status in statuses}
            merged.removed = [rid for rid in runs if rid not in seen]
        for rid in merged.removed:
            del self.runs[rid]
        if merged.added or merged.removed:
            self._ordered = None
            self.link_children()
        return merged

    def set_settings(self, settings: dict[str, RunSettings]) -> None:
        """Settings read for some runs (the rows on screen): method, r, lr, model, lineage."""
        for run_id, found in settings.items():
            if run_id in self.runs:
                self.runs[run_id].settings = found
                self.runs[run_id].settings_read = True
        if any(found.from_run for found in settings.values()):
            self.link_children()

    def link_children(self) -> None:
        """Each run's ``child_ids``: the runs whose ``from_run`` names it or a prefix of it, oldest first
        (runs whose settings are read)."""
        ids = sorted(self.runs)
        children: dict[str, list[str]] = {}
        for info in self.ordered():
            parent = info.settings.from_run
            if not parent:
                continue
            at = bisect.bisect_left(ids, parent)
            while at < len(ids) and ids[at].startswith(parent):
                if ids[at] != info.run_id:
                    children.setdefault(ids[at], []).append(info.run_id)
                at += 1
        for info in self.runs.values():
            info.child_ids = children.get(info.run_id, [])

    def upsert(self, host: str, status: Status) -> RunInfo:
        """A status returned by launch/cancel/resume."""
        info = self.runs.get(status.run_id)
        if info is None:
            info = RunInfo(status.run_id, host, status, log=deque(maxlen=self.log_max_lines))
            info.order = launch_time(status)
            self.runs[status.run_id] = info
            self._ordered = None
        else:
            info.update_status(status)
        return info

    def children(self, run_id: str) -> list[str]:
        """Runs that started from ``run_id`` (their ``from_run`` names it or a prefix of it), oldest first."""
        info = self.runs.get(run_id)
        return list(info.child_ids) if info else []

    def ordered(self) -> list[RunInfo]:
        if self._ordered is None:
            self._ordered = sorted(self.runs.values(), key=lambda info: (info.order, info.run_id))
        return self._ordered


@dataclass
class Merged:
    """What a listing changed: runs that came, went, and whose status changed (with their state before)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, RunState] = field(default_factory=dict)

    def moved(self, store: RunStore) -> bool:
        """A run came, went or changed state: filters may show other rows."""
        return bool(self.added or self.removed) or any(
            rid in store.runs and store.runs[rid].state != before for rid, before in self.changed.items())
