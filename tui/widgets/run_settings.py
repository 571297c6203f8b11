"""What distinguishes runs: the settings of each run's frozen recipe (method, LoRA r, learning rate, base
model) and its lineage (study and trial, the run it started from), for the Runs table and Compare.

Read on the engine thread from ``recipe.yaml`` of the run directory (a remote run's mirror holds it too).
A run's recipe never changes once it exists, so each is read once and cached.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailor.engine.api.executors import Executor
    from tailor.engine.api.runs import Status

_CACHE: dict[Path, RunSettings] = {}
_CACHE_MAX = 5000


@dataclass(frozen=True)
class RunSettings:
    method: str = ""
    r: str = ""
    lr: str = ""
    model: str = ""
    from_run: str = ""
    study: str = ""
    trial: str = ""
    #: The whole recipe as dotted keys (``lora.r``, ``train.learning_rate``): Compare diffs these.
    fields: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def trial_label(self) -> str:
        return f"{self.study} #{self.trial}" if self.study and self.trial else self.study


#: Fields every run has its own value of: never a "difference" worth a row.
NOT_SETTINGS = {"name", "description"}


def differing(fields: list[dict[str, str]]) -> list[tuple[str, list[str]]]:
    """(field, one value per run) for each recipe field whose values are not all equal (Compare's diff and
    ``tailor compare``'s)."""
    keys = list(dict.fromkeys(k for f in fields for k in f))
    out = []
    for key in keys:
        if key in NOT_SETTINGS:
            continue
        values = [f.get(key, "—") for f in fields]
        if len(set(values)) > 1:
            out.append((key, values))
    return out


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """``{"lora": {"r": 8}}`` -> ``{"lora.r": "8"}`` (lists stay one value)."""
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): _text(data)}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"  # nan and inf print as they are
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return "" if value is None else str(value)


def short_lr(text: str) -> str:
    """A learning rate as people write it: ``0.003`` stays, ``0.000384858`` -> ``3.8e-4``, ``2e-05`` -> ``2e-5``."""
    try:
        value = float(text)
    except ValueError:
        return text
    plain = f"{value:g}"
    if len(plain) <= 6 and "e" not in plain:
        return plain
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def read_settings(run_dir: Path, status: Status | None = None) -> RunSettings | None:
    """The run's settings (None while its recipe.yaml is not written yet)."""
    cached = _CACHE.get(run_dir)
    if cached is not None:
        return cached
    recipe_file = run_dir / "recipe.yaml"
    try:
        text = recipe_file.read_text(encoding="utf-8")
    except (OSError, ValueError):  # not written yet (or unreadable): no settings for now
        return None
    try:
        data = _frozen_yaml(text)
    except Exception:  # a damaged file: the row shows no settings
        data = {}
    data = data if isinstance(data, dict) else {}
    fields = flatten(data)
    model = fields.get("model.name_or_path") or fields.get("model", "")
    links = status.links if status is not None else {}
    settings = RunSettings(
        method=fields.get("method", ""),
        r=fields.get("lora.r", "") if fields.get("method") in ("lora", "qlora") else "",
        lr=short_lr(fields.get("train.learning_rate", "")),
        model=model,
        from_run=str(links.get("from_run") or fields.get("from_run", "")),
        study=str(links.get("study") or ""),
        trial=str(links.get("trial") if links.get("trial") is not None else ""),
        fields=fields,
    )
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.clear()
    _CACHE[run_dir] = settings
    return settings


def _frozen_yaml(text: str) -> Any:
    """A frozen recipe is plain YAML written by Tailor: libyaml's parser reads it ten times faster than the
    recipe loader. Anything with anchors or aliases (a hostile host's mirror could send an alias bomb)
    goes through the recipe loader, which refuses those bombs."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None or "&" in text or "*" in text:
        from tailor.engine.api.recipes import load_yaml

        return load_yaml(text)
    return yaml.load(text, Loader=loader)  # libyaml's safe loader


def settings_for(runs_dir: Path, statuses: list[Status]) -> dict[str, RunSettings]:
    """Settings of these runs where their recipe is written (a thread worker: reads files; cached)."""
    out = {}
    for status in statuses:
        settings = read_settings(runs_dir / status.run_id, status)
        if settings is not None:
            out[status.run_id] = settings
    return out


async def list_with_hosts(executor: Executor) -> tuple[list[Status], dict[str, str]]:
    """The listing (remote runs through their mirrors) and the host alias of each remote run. Settings
    are read apart (``settings_for``), for the rows on screen only: a workspace may hold 10,000 runs."""
    statuses = await executor.list_runs()
    if _all_local(statuses):
        return statuses, {}
    statuses = await _refresh_remote(executor, statuses)
    return statuses, {s.run_id: s.via for s in statuses if s.via != "local"}


_VIA = operator.attrgetter("via")
_LAST_LOCAL: list[list[Status]] = [[]]  # the last listing found all local (a finished run comes back as the same object)


def _all_local(statuses: list[Status]) -> bool:
    """Whether every listed run is local. A listing each few seconds of 10,000 runs: when the last one was
    all local, only the places holding another object are looked at (compared in C, without touching the
    statuses), which is most of an idle Runs screen's remaining work otherwise."""
    last = _LAST_LOCAL[0]
    fresh: Any = statuses
    if len(statuses) == len(last):
        fresh = list(itertools.compress(statuses, map(operator.is_not, statuses, last)))
    local = list(map(_VIA, fresh)).count("local") == len(fresh)
    _LAST_LOCAL[0] = statuses if local else []
    return local


REMOTE_REFRESH_S = 30.0  # ask hosts about active remote runs at most this often (each asks over SSH)
_last_refresh: dict[str, float] = {}


async def _refresh_remote(executor: Executor, statuses: list[Status]) -> list[Status]:
    """Active remote runs as their hosts report them, as ``tailor runs`` does (engine/remote/refresh.py):
    an unreachable host's runs show their last known state marked stale, never a wrong live state. Runs the
    screen follows get their state from the follow stream; this catches the others (a host that went away,
    a run launched from another terminal)."""
    import time

    if not any(s.via != "local" and s.state.active for s in statuses):
        return statuses
    key = str(executor.workspace.root)
    now = time.monotonic()
    if now - _last_refresh.get(key, 0.0) < REMOTE_REFRESH_S:
        return statuses
    _last_refresh[key] = now
    from tailor.engine.api.runs import refresh_remote

    return await refresh_remote(executor.workspace, statuses)
