"""A search shared through a real PostgreSQL server (tests/search/postgres.py): one search worker here and
one on the SSH test host, ``storage: postgresql://tailor:$TAILOR_PG_PASSWORD@...``. A worker killed in the
middle of a trial has that trial retried; the study ends with ``n_trials`` distinct complete trials;
optuna-dashboard's storage loader opens it (password from a libpq password file); and the password never
appears in an argument list, a log or a run file on either side."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from pathlib import Path

import optuna
import pytest
from postgres import LocalPostgres, postgres_available, postgres_installed
from search_helpers import cli, wait_for, wait_run_done, write_search
from servers import POSTGRES, need

from tailor.engine.runs.rundir import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the SSH fixtures
from ssh.conftest import FORWARD, _no_real_secrets, sshd, write_ws_config  # noqa: F401

pytestmark = [pytest.mark.ssh, pytest.mark.postgres, pytest.mark.slow]
N_TRIALS = 3
SECRET_ENV = "TAILOR_PG_PASSWORD"


@pytest.fixture(scope="module")
def pg():
    need(POSTGRES, postgres_installed)
    why = postgres_available()
    if why:
        pytest.fail(why)
    server = LocalPostgres().start()
    yield server
    server.stop()


def _study(pg: LocalPostgres, name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=pg.url(pg.password))
    except KeyError:
        return None


def _argv_with(secret: str) -> list[str]:
    """Command lines of this machine's processes that contain ``secret``."""
    hits = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if secret.encode() in cmdline:
            hits.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return hits


def test_local_and_ssh_workers_share_a_postgres_study(
    workspace, sshd, pg: LocalPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv(SECRET_ENV, pg.password)
    remote = tmp_path / "remote"
    env = {k: os.environ[k] for k in FORWARD if k in os.environ}
    # The password travels to the host's worker as a secret (stdin of the SSH session), never in argv.
    write_ws_config(workspace, sshd, remote, env=env, forward_env=[SECRET_ENV])
    url = f"postgresql://tailor:${SECRET_ENV}@127.0.0.1:{pg.port}/studies"
    path = write_search(workspace, name="pg", n_trials=N_TRIALS, pruner="none", storage=url,
                        trial_train={"max_steps": 4})

    started = cli("search", str(path), "--host", "box", workspace=workspace)
    assert started.exit_code == 0, started.output
    remote_id = started.output.split()[-1]
    wait_for(lambda: (s := _study(pg, "pg")) and s.get_trials(), timeout=120, what="a remote trial")
    here = cli("search", str(path), workspace=workspace)
    assert here.exit_code == 0, here.output
    killed_id = here.output.split()[-1]

    def local_trial() -> optuna.trial.FrozenTrial | None:
        study = _study(pg, "pg")
        running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,)) if study else []
        return next((t for t in running if t.user_attrs.get("search_run") == killed_id), None)

    victim = wait_for(local_trial, timeout=120, what="the local worker's trial")
    assert not _argv_with(pg.password), "the password is in a command line"
    # SIGKILL the local worker mid-trial: no chance to report anything.
    status = workspace.run(killed_id).read_status()
    os.killpg(status.pgid, signal.SIGKILL)
    wait_for(lambda: _study(pg, "pg").trials[victim.number].state == optuna.trial.TrialState.FAIL,
             timeout=120, what="the killed trial marked failed")
    again = cli("search", str(path), workspace=workspace)  # another local worker joins
    assert again.exit_code == 0, again.output
    local_id = again.output.split()[-1]

    assert wait_run_done(workspace, local_id, timeout=300).state.value == "succeeded"
    remote_status = wait_for(lambda: (s := RunDir(remote / "workspace" / "runs" / remote_id).effective_status())
                             .state.terminal and s, timeout=300, what="the remote worker")
    assert remote_status.state.value == "succeeded", remote_status.error
    assert workspace.run(killed_id).effective_status().state.value == "failed"

    study = _study(pg, "pg")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert len(complete) == N_TRIALS
    assert [t.number for t in failed] == [victim.number]
    assert len({t.user_attrs["run_id"] for t in complete}) == N_TRIALS
    assert len({t.params["learning_rate"] for t in complete}) == N_TRIALS
    # the killed trial ran again (same parameters) and completed
    assert any(t.params == victim.params for t in complete)
    workers = {t.user_attrs["search_run"] for t in complete}
    assert remote_id in workers and workers <= {remote_id, killed_id, local_id}

    # optuna-dashboard's storage loader opens the study; the password from a libpq password file.
    import optuna_dashboard as dashboard

    monkeypatch.setenv("PGPASSFILE", str(pg.passfile(tmp_path / "pgpass")))
    app = dashboard.wsgi(pg.url())  # no password in the URL
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/studies", "QUERY_STRING": "", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http",
               "wsgi.errors": io.StringIO()}
    answer: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: answer.append(s)))
    assert answer == ["200 OK"]
    assert "pg" in [s["study_name"] for s in json.loads(body)["study_summaries"]]

    # The password is nowhere in the run files, logs or mirrors, here or on the host.
    secret = pg.password.encode()
    for root in (workspace.root, remote):
        for file in root.rglob("*"):
            if file.is_file() and file.name != "pgpass":
                assert secret not in file.read_bytes(), file
    shown = workspace.run(local_id).read_status().links["storage"]
    assert shown == f"postgresql://tailor:***@127.0.0.1:{pg.port}/studies"
