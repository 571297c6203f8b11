"""Executors run workers on a host (local, SSH, Slurm): get one for a host or a run; ``Control``
launches and stops runs in a workspace."""

from tailor.engine.control import Control
from tailor.engine.executors.base import Executor, FetchReport
from tailor.engine.executors.factory import executor_for, executor_for_run

__all__ = ["Control", "Executor", "FetchReport", "executor_for", "executor_for_run"]
