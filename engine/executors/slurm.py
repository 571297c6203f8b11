"""Runs workers as Slurm jobs on a cluster reached over SSH at its login node (``type: slurm`` hosts).

Everything but starting and judging workers is the SSH executor's: the connection, the data sync, the
local mirror, follow, fetch and delete. The login node creates the run directory in the host's workdir
(on the filesystem the compute nodes share) and submits ``sbatch`` with the host's ``slurm:`` settings and
the recipe's ``resources:`` (engine/remote/slurm.py); training never runs on the login node. A queued run
waits as long as Slurm holds it (``queued_timeout`` None), showing Slurm's reason; cancel is scancel.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from tailor.engine.executors.base import FitPolicy
from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.remote.slurm_spec import SlurmHost


class SlurmExecutor(SSHExecutor):
    """An ``SSHExecutor`` whose host-side control is ``SlurmControl`` (engine/executors/registry.py)."""

    type: ClassVar[str] = "slurm"
    host_settings: ClassVar[builtins.type[SlurmHost]] = SlurmHost
    config: SlurmHost
    #: The login node's GPUs (if any) say nothing about the compute nodes': Slurm decides where jobs fit.
    has_gpu_inventory: ClassVar[bool] = False
    queued_timeout: float | None = None

    def control_settings(self) -> dict[str, Any]:
        """The host's ``slurm:`` block: ``SlurmControl`` submits the job with it."""
        return self.config.slurm.model_dump(mode="json", exclude_defaults=True)

    async def gpus(self) -> list[Any]:
        return []

    async def fit_warnings(self, recipe: Any, mode: FitPolicy) -> list[str]:
        return []  # no inventory to check against: the scheduler refuses what does not fit
