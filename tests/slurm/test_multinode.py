"""Multi-node training through Slurm: ``resources: {nodes: 2}`` starts one torchrun per node with srun, with
the c10d rendezvous on the first node. The test cluster has one node, so the two "nodes" are two srun
tasks on it (an extra ``--nodes=1`` line packs them): two CPU processes, DDP over gloo. The DDP run's
losses must match a single-process run over the same global batch."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from slurm.cluster import LocalSlurm
from slurm.conftest import write_slurm_config
from tailor.engine.executors.factory import executor_for
from tailor.engine.executors.local import LocalExecutor
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState

pytestmark = [pytest.mark.ssh, pytest.mark.slurm, pytest.mark.slow]

STEPS = 8
BASE = {
    "train.logging_steps": 1,
    "train.warmup_steps": 0,
    "train.max_steps": STEPS,
    "train.save_steps": STEPS,
    "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 64}],
    "data.eval": None,
}
REL_TOL = 1e-2


def losses(run: RunDir) -> dict[int, float]:
    return {e["step"]: e["values"]["loss"] for e in run.events()
            if e["type"] == "metric" and e.get("split", "train") == "train" and "loss" in e["values"]}


async def test_two_node_ddp_matches_single_process(
    workspace, sshd, slurm_cluster: LocalSlurm, tmp_path: Path
) -> None:
    write_slurm_config(workspace, sshd, slurm_cluster, tmp_path / "remote", sbatch=["--nodes=1"])
    recipe = workspace.recipes_dir / "demo-sft.yaml"
    ex = executor_for(workspace, "box")
    local = LocalExecutor(workspace, env={"OMP_NUM_THREADS": "1"})
    try:
        ddp = await ex.launch(recipe, name="ddp", overrides={
            **BASE, "train.per_device_train_batch_size": 4, "resources.nodes": 2, "resources.gpus_per_node": 0})
        single = await local.launch(recipe, name="single", overrides={
            **BASE, "train.per_device_train_batch_size": 8, "resources.gpus": 0})
        await asyncio.wait_for(asyncio.gather(
            _drain(ex, ddp.run_id), _drain(local, single.run_id)), 400)
        ddp_final, single_final = await ex.status(ddp.run_id), await local.status(single.run_id)
        assert ddp_final.state == RunState.SUCCEEDED, ddp_final.error
        assert single_final.state == RunState.SUCCEEDED, single_final.error
        remote = RunDir(tmp_path / "remote" / "workspace" / "runs" / ddp.run_id)
        script = (remote.path / "slurm.sh").read_text()
        assert "srun --kill-on-bad-exit=1 --ntasks=2" in script and "--nnodes=2" in script
        stderr = remote.stderr_file.read_text(errors="replace")
        assert "parallel_mode != ParallelMode.DISTRIBUTED" not in stderr  # DDP really ran
        a, b = losses(remote), losses(RunDir(workspace.runs_dir / single.run_id))
        assert sorted(a) == sorted(b) == list(range(1, STEPS + 1))
        print("\nstep  ddp(2x4)  single(1x8)  rel.diff")
        for step in a:
            print(f"{step:>4}  {a[step]:.4f}    {b[step]:.4f}       {abs(a[step] - b[step]) / b[step]:.2e}")
        for step in a:
            assert math.isclose(a[step], b[step], rel_tol=REL_TOL), (step, a[step], b[step])
        assert a[STEPS] < a[1]  # and it learned
    finally:
        await ex.close()


async def _drain(ex, run_id: str) -> None:
    async for _ in ex.follow(run_id):
        pass
