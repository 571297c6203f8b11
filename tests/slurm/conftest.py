"""A real single-node Slurm (tests/slurm/cluster.py) behind the real OpenSSH fixture (tests/ssh), and a
workspace whose host ``box`` is ``type: slurm`` at that login node."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from servers import SLURM, need
from ssh.conftest import FORWARD, _no_real_secrets, sshd, write_ws_config  # noqa: F401

from slurm.cluster import LocalSlurm, slurm_available, slurm_installed
from tailor.engine.remote.sshd import LocalSSHD
from tailor.engine.workspace import Workspace


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    need(SLURM, slurm_installed)
    why = slurm_available()
    if why:
        pytest.fail(why)
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm")).setup().start()
    yield cluster
    cluster.stop()


def write_slurm_config(ws: Workspace, server: LocalSSHD, cluster: LocalSlurm, workdir: Path, **slurm: Any) -> None:
    """Host ``box``: type slurm at the test sshd, sbatch settings ``slurm``; SLURM_CONF through ``env``."""
    env = {k: os.environ[k] for k in FORWARD if k in os.environ} | cluster.env
    write_ws_config(ws, server, workdir, type="slurm", env=env, slurm=slurm)


@pytest.fixture
def slurm_ws(
    workspace: Workspace,
    sshd: LocalSSHD,  # noqa: F811 - the fixture imported above
    slurm_cluster: LocalSlurm,
    tmp_path: Path,
) -> Workspace:
    write_slurm_config(workspace, sshd, slurm_cluster, tmp_path / "remote")
    return workspace
