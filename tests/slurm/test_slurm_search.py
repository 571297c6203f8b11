"""A search on a Slurm host: the search worker is a Slurm job, and with ``workers: 3`` it keeps two more
jobs going, each training exactly one trial (one sbatch per trial), all against one study on the shared
filesystem (a journal file here; PostgreSQL works the same, tests/search/test_search_postgres.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import optuna
import pytest

from slurm.cluster import LocalSlurm
from slurm.conftest import write_slurm_config
from tailor.engine.executors.factory import executor_for
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from search_helpers import write_search

pytestmark = [pytest.mark.ssh, pytest.mark.slurm, pytest.mark.slow]
N_TRIALS = 4


async def test_search_workers_are_slurm_jobs(workspace, sshd, slurm_cluster: LocalSlurm, tmp_path: Path) -> None:
    write_slurm_config(workspace, sshd, slurm_cluster, tmp_path / "remote", time="20")
    journal = tmp_path / "shared" / "studies.log"
    journal.parent.mkdir()
    path = write_search(workspace, name="sl", n_trials=N_TRIALS, workers=3, pruner="none",
                        storage=f"journal:{journal}", trial_train={"max_steps": 4})
    ex = executor_for(workspace, "box")
    try:
        launched = await ex.launch(path)
        await asyncio.wait_for(_drain(ex, launched.run_id), 400)
        final = await ex.status(launched.run_id)
        assert final.state == RunState.SUCCEEDED, final.error
    finally:
        await ex.close()
    runs = tmp_path / "remote" / "workspace" / "runs"
    parent = RunDir(runs / launched.run_id)
    siblings = parent.read_status().links["workers"]
    assert len(siblings) >= 2
    jobs = [json.loads((runs / r / "slurm.json").read_text())["job"] for r in (launched.run_id, *siblings)]
    assert len(set(jobs)) == len(jobs)  # one sbatch each
    for job in jobs:
        assert slurm_cluster.final_state(job) == "COMPLETED"
        assert "TimeLimit=00:20:00" in slurm_cluster.command("scontrol", "show", "job", job)  # host settings
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(study_name="sl", storage=optuna.storages.JournalStorage(JournalFileBackend(str(journal))))
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == N_TRIALS
    by_worker = [t.user_attrs["search_run"] for t in complete]
    assert set(by_worker) <= {launched.run_id, *siblings}
    for run_id in siblings:  # a trial job trains one trial, never more
        assert RunDir(runs / run_id).read_status().state == RunState.SUCCEEDED
        assert by_worker.count(run_id) <= 1
    assert sum(by_worker.count(r) for r in siblings) >= 2


async def _drain(ex, run_id: str) -> None:
    async for _ in ex.follow(run_id):
        pass
