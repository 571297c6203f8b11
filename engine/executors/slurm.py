"""Runs workers as Slurm jobs on a cluster reached over SSH at its login node (``type: slurm`` hosts).

Everything but starting and judging workers is the SSH executor's: the connection, the data sync, the
local mirror, follow, fetch and delete. The login node creates the run directory in the host's workdir
(on the filesystem the compute nodes share) and submits ``sbatch`` with the host's ``slurm:`` settings and
the recipe's ``resources:`` (engine/remote/slurm.py); training never runs on the login node. A queued run
waits as long as Slurm holds it (``queued_timeout`` None), showing Slurm's reason; cancel is scancel.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tailor.engine.executors.ssh import SSHExecutor


class SlurmExecutor(SSHExecutor):
    type: ClassVar[str] = "slurm"
    #: The login node's GPUs (if any) say nothing about the compute nodes': Slurm decides where jobs fit.
    has_gpu_inventory: ClassVar[bool] = False
    queued_timeout: float | None = None

    def _host_payload(self) -> dict[str, Any]:
        return {"slurm": self.config.slurm.model_dump(mode="json", exclude_defaults=True)}

    async def gpus(self) -> list[Any]:
        return []

    async def _fit_warnings(self, recipe: Any, mode: Any) -> list[str]:
        return []  # no inventory to check against: the scheduler refuses what does not fit
