"""Executors: where workers run. One interface, a local and an SSH implementation."""

from engine.executors.base import Executor
from engine.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
