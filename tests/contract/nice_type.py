"""The host side of the throwaway ``nice`` host type (tests/contract/test_nice_executor.py).

A plug-in module: the host imports it through its ``env:`` (``TAILOR_PLUGINS=nice_type`` and this folder
on ``PYTHONPATH``), and from then on ``python -m tailor.engine.remote OP --type nice`` builds
``NiceControl``: the ordinary run control, whose workers start under ``nice -n 10``. The executor half of
the type is registered by the test process; the host never builds executors, so it registers none.
"""

from __future__ import annotations

from tailor.engine.control import Control
from tailor.engine.executors.registry import register_type
from tailor.engine.runs.rundir import RunDir

NICENESS = 10


class NiceControl(Control):
    """``Control`` whose workers run at a lower CPU priority."""

    def worker_command(self, run: RunDir, *, resume: bool = False) -> list[str]:
        # nice execs the worker: the pid the worker records is still its own.
        return ["nice", "-n", str(NICENESS), *super().worker_command(run, resume=resume)]


register_type("nice", None, control=NiceControl)
