"""Workers on two "hosts" share one Optuna study: one search worker started here, one started over SSH
(the real OpenSSH server of tests/ssh on 127.0.0.1, remote side in its own workspace) with
`tailor search RECIPE --host box`. Both point at one journal file (both "hosts" see this filesystem, as
machines sharing an NFS folder would); Optuna's own API then shows trials from both workers."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from search_helpers import TINY_BASE, cli, wait_for, wait_run_done, write_search

from tailor.engine.executors.ssh import SSHExecutor
from tailor.engine.runs.rundir import RunDir
from tailor.engine.search.launch import promoted_recipe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the SSH fixtures
from ssh.conftest import FORWARD, _no_real_secrets, sshd, write_ws_config  # noqa: F401

pytestmark = [pytest.mark.ssh, pytest.mark.slow]
N_TRIALS = 3


def _journal_study(journal: Path, name: str) -> optuna.Study | None:
    from optuna.storages.journal import JournalFileBackend

    if not journal.exists():
        return None
    try:
        return optuna.load_study(
            study_name=name, storage=optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
        )
    except KeyError:
        return None


async def _follow_remote(ws, run_id: str) -> tuple[list[dict], str]:
    ex = SSHExecutor.for_host(ws, "box")
    try:
        events = [e async for e in ex.follow(run_id)]
        return events, (await ex.status(run_id)).state.value
    finally:
        await ex.close()


def test_local_and_ssh_workers_share_one_study(workspace, sshd, tmp_path: Path) -> None:  # noqa: F811
    remote = tmp_path / "remote"
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    write_ws_config(workspace, sshd, remote, env=env)

    # The workspace-default SQLite storage would be a study on the host alone: refused before connecting.
    lonely = write_search(workspace, name="lonely", n_trials=1)
    refused = cli("search", str(lonely), "--host", "box", workspace=workspace)
    assert refused.exit_code != 0
    assert refused.output.startswith("error: ") and refused.output.count("\n") == 1, refused.output
    assert (
        "host box" in refused.output and "journal:/" in refused.output and "postgresql://" in refused.output
    )
    assert not list(workspace.runs_dir.iterdir())

    shared = tmp_path / "shared"
    shared.mkdir()
    journal = shared / "studies.log"
    path = write_search(
        workspace,
        name="multi",
        n_trials=N_TRIALS,
        pruner="none",
        storage=f"journal:{journal}",
        trial_train={"max_steps": 4},
    )
    started = cli("search", str(path), "--host", "box", workspace=workspace)
    assert started.exit_code == 0, started.output
    remote_id = started.output.split()[-1]
    # The host's worker holds a trial before the local one starts, so both get work.
    wait_for(
        lambda: (s := _journal_study(journal, "multi")) and s.get_trials(), timeout=90, what="a remote trial"
    )
    here = cli("search", str(path), workspace=workspace)
    assert here.exit_code == 0, here.output
    local_id = here.output.split()[-1]

    events, state = asyncio.run(_follow_remote(workspace, remote_id))
    remote_runs = remote / "workspace" / "runs"
    assert state == "succeeded", (remote_runs / remote_id / "stderr.log").read_text()[-2000:]
    assert wait_run_done(workspace, local_id, timeout=180).state.value == "succeeded"

    # Optuna's own view: n_trials complete trials, each trained by exactly one of the two workers.
    study = _journal_study(journal, "multi")
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(N_TRIALS))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert {t.user_attrs["search_run"] for t in trials} == {remote_id, local_id}
    assert len({t.user_attrs["run_id"] for t in trials}) == N_TRIALS
    # Each worker seeds its sampler from the recipe's seed, reseeded per trial: no two draws alike.
    assert len({t.params["learning_rate"] for t in trials}) == N_TRIALS
    for t in trials:  # the trial run sits in the workspace of the worker that trained it
        runs = remote_runs if t.user_attrs["search_run"] == remote_id else workspace.runs_dir
        status = RunDir(runs / t.user_attrs["run_id"]).read_status()
        assert status.state.value == "succeeded" and status.links["search_run"] == t.user_attrs["search_run"]
        assert status.links["trial"] == t.number
    remote_done = {e["number"] for e in events if e["type"] == "trial" and e["state"] == "complete"}
    local_done = {
        e["number"]
        for e in RunDir(workspace.runs_dir / local_id).events()
        if e["type"] == "trial" and e["state"] == "complete"
    }
    assert remote_done and local_done and not remote_done & local_done
    assert remote_done | local_done == set(range(N_TRIALS))

    # The base recipe went inline into the frozen search recipe, its data synced to the host's store;
    # the mirror (and the study's tailor:base, which promote reads) keep the local paths.
    frozen = yaml.safe_load((remote_runs / remote_id / "recipe.yaml").read_text())
    assert frozen["base"]["kind"] == "sft"
    assert frozen["base"]["data"]["train"][0]["path"].startswith(
        str((remote / "workspace" / "store").resolve())
    )
    mirrored = yaml.safe_load((workspace.runs_dir / remote_id / "recipe.yaml").read_text())
    local_train = str((workspace.recipes_dir / TINY_BASE["data"]["train"]["path"]).resolve())
    assert mirrored["base"]["data"]["train"][0]["path"] == local_train
    assert study.user_attrs["tailor:base"]["data"]["train"][0]["path"] == local_train
    _, promoted = promoted_recipe("multi", f"journal:{journal}")
    assert promoted["data"]["train"][0]["path"] == local_train


def test_which_storages_a_remote_search_refuses() -> None:
    from tailor.engine.search import SearchError
    from tailor.engine.search.storage import check_remote_storage, host_local_storage

    for url in (None, "sqlite:///studies.db", "studies.db", "journal:studies.log", "runs/j.log"):
        assert host_local_storage(url), url
        with pytest.raises(SearchError, match="on host gpu1 .* journal:/ABS/PATH"):
            check_remote_storage(url, "gpu1")
    for url in (
        "postgresql://tailor:$PW@db.lan/studies",
        "mysql+pymysql://u@db/s",
        "journal:/shared/studies.log",
        "journal:~/.tailor/studies.log",
        "sqlite:////data/studies.db",
        "sqlite:///$SCRATCH/studies.db",
    ):
        assert host_local_storage(url) is None, url
