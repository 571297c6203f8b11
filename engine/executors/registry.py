"""Host types: which executor class serves a host whose ``type:`` names it.

``local`` is this machine; every configured host has a ``type`` (default ``ssh``, so workspace.yaml files
written before types existed stay valid). A new executor registers its type here with one line, as
``"module:Class"`` so that listing types imports nothing heavy (asyncssh loads with the SSH executor).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tailor.engine.executors.base import Executor

_TYPES: dict[str, str | type[Executor]] = {
    "local": "tailor.engine.executors.local:LocalExecutor",
    "ssh": "tailor.engine.executors.ssh:SSHExecutor",
    "slurm": "tailor.engine.executors.slurm:SlurmExecutor",
}

#: The type of a host entry that does not say.
DEFAULT_HOST_TYPE = "ssh"


def register_type(name: str, executor: str | type[Executor], *, replace: bool = False) -> None:
    if name in _TYPES and not replace:
        raise ValueError(f"host type {name!r} is registered already")
    _TYPES[name] = executor


def unregister_type(name: str) -> None:
    if name not in ("local", DEFAULT_HOST_TYPE):
        _TYPES.pop(name, None)


def host_types() -> list[str]:
    """Types a configured host may have (``local`` is this machine, not a host entry)."""
    return [t for t in _TYPES if t != "local"]


def executor_class(type_: str) -> type[Executor]:
    ref = _TYPES[type_]
    if isinstance(ref, str):
        module, _, attr = ref.partition(":")
        ref = getattr(importlib.import_module(module), attr)
    return ref
