"""Executors: where workers run. One interface, a local and an SSH implementation."""

from tailor.engine.executors.base import Executor
from tailor.engine.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
