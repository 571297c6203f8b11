"""Host types: which executor serves a host whose ``type:`` names it, and which run control its host runs.

``local`` is this machine; every configured host has a ``type`` (default ``ssh``, so workspace.yaml files
written before types existed stay valid). A type is two halves that live in two processes:

* the **executor** (``Executor`` subclass) on this side: it names its host settings model
  (``host_settings``, the host's entry in workspace.yaml) and talks to the host;
* the **control** (``tailor.engine.control.Control`` subclass) on the host side: ``python -m
  tailor.engine.remote OP --type TYPE`` (engine/remote/server.py) builds it with ``control_class(TYPE)``.

Both are given as ``"module:Class"`` so that listing types imports nothing heavy (asyncssh loads with the
SSH executor) and the host never imports an executor. A plug-in registers its type with
``register_type`` from a module named in ``TAILOR_PLUGINS`` (imported on a lookup of a type not known yet),
on this side and, through the host's ``env:``, on the host.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import HostError

if TYPE_CHECKING:
    from tailor.engine.control import Control
    from tailor.engine.executors.base import Executor

#: The host side's run control of a type that names none: start workers on the host itself.
DEFAULT_CONTROL = "tailor.engine.control:Control"


@dataclass(frozen=True)
class HostType:
    """One registered type: its executor (None where only the host side is registered) and its control."""

    executor: str | type[Executor] | None
    control: str | type[Control] = DEFAULT_CONTROL


_TYPES: dict[str, HostType] = {
    "local": HostType("tailor.engine.executors.local:LocalExecutor"),
    "ssh": HostType("tailor.engine.executors.ssh:SSHExecutor"),
    "slurm": HostType("tailor.engine.executors.slurm:SlurmExecutor", "tailor.engine.remote.slurm:SlurmControl"),
}

#: The type of a host entry that does not say.
DEFAULT_HOST_TYPE = "ssh"


def register_type(
    name: str,
    executor: str | type[Executor] | None,
    *,
    control: str | type[Control] = DEFAULT_CONTROL,
    replace: bool = False,
) -> None:
    """Register host type ``name``: ``executor`` serves its hosts here, ``control`` runs their workers on
    the host. A host-side plug-in may give ``executor=None`` (the host never builds executors)."""
    if name in _TYPES and not replace:
        raise ValueError(f"host type {name!r} is registered already")
    _TYPES[name] = HostType(executor, control)


def unregister_type(name: str) -> None:
    if name not in ("local", DEFAULT_HOST_TYPE):
        _TYPES.pop(name, None)


def host_types() -> list[str]:
    """Types a configured host may have (``local`` is this machine, not a host entry)."""
    return [t for t, entry in _TYPES.items() if t != "local" and entry.executor is not None]


def executor_class(type_: str) -> type[Executor]:
    """The executor class of a host type (its module is imported now)."""
    ref = _entry(type_).executor
    if ref is None:
        raise HostError(f"host type {type_!r} is registered for the host side only here: no executor")
    return _load(ref)


def control_class(type_: str) -> type[Control]:
    """The run control the host side of a ``type_`` host builds (engine/remote/server.py)."""
    return _load(_entry(type_).control)


def _entry(type_: str) -> HostType:
    if type_ not in _TYPES:
        # A plug-in module (TAILOR_PLUGINS) may register host types as well as kinds.
        from tailor.engine.kinds import load_plugins

        load_plugins()
    if type_ not in _TYPES:
        raise HostError(
            f"unknown host type {type_!r}; use one of {', '.join(host_types())} "
            "(or name the module that registers it in TAILOR_PLUGINS)"
        )
    return _TYPES[type_]


def _load(ref: str | type[Any]) -> type[Any]:
    if isinstance(ref, str):
        module, _, attr = ref.partition(":")
        loaded: type[Any] = getattr(importlib.import_module(module), attr)
        return loaded
    return ref
