"""The settings of a ``type: slurm`` host: an SSH host (its login node) plus a ``slurm:`` block of sbatch
settings (a recipe's ``resources:`` overrides them).

Example::

    hosts:
      cluster:
        type: slurm
        hostname: login.hpc.example.edu   # the login node; jobs run on compute nodes via sbatch
        workdir: /scratch/alice/tailor     # on the filesystem shared with the compute nodes
        slurm:
          partition: gpu
          account: nlp-lab
          qos: normal
          time: "04:00:00"
          gpus_per_node: 1
          sbatch: ["--constraint=a100", "--mail-type=END"]
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tailor.engine.remote.hosts import SSHHost


class SlurmSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = Field(None, description="Time limit in Slurm's format: MINUTES, HH:MM:SS, D-HH:MM.")
    nodes: int | None = Field(None, gt=0)
    gpus_per_node: int | None = Field(None, ge=0)
    cpus_per_task: int | None = Field(None, gt=0)
    mem: str | None = Field(None, description="Memory per node, e.g. 64G.")
    sbatch: list[str] = Field(default_factory=list, description="Extra #SBATCH options, one per item.")

    @field_validator("partition", "account", "qos", "time", "mem")
    @classmethod
    def _one_word(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or any(c.isspace() for c in v)):
            raise ValueError("must be one word without spaces")
        return v

    @field_validator("sbatch")
    @classmethod
    def _lines(cls, v: list[str]) -> list[str]:
        for line in v:
            if "\n" in line or "\r" in line or not line.strip():
                raise ValueError(f"{line!r}: one sbatch option per item, e.g. --constraint=a100")
        return v


class SlurmHost(SSHHost):
    """A ``type: slurm`` host entry: the login node's SSH settings and the sbatch settings of its jobs."""

    type: str = "slurm"
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)
