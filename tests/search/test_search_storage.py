"""Study storage: URL forms, one-line errors, heartbeats on SQLite and journal files (real Optuna)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import optuna
import pytest

from tailor.engine.recipes.storage_url import check_storage_url, storage_kind
from tailor.engine.search import SearchError
from tailor.engine.search.storage import HEARTBEAT_ATTR, open_storage, redact, resolve_url


def test_url_forms(tmp_path: Path) -> None:
    assert resolve_url(None, tmp_path) == f"sqlite:///{tmp_path}/studies.db"
    assert resolve_url("sqlite:///s.db", tmp_path) == f"sqlite:///{tmp_path}/s.db"
    assert resolve_url("sqlite:////abs/s.db", tmp_path) == "sqlite:////abs/s.db"
    assert resolve_url("other.sqlite", tmp_path) == f"sqlite:///{tmp_path}/other.sqlite"
    assert resolve_url("journal:shared/j.log", tmp_path) == f"journal:{tmp_path}/shared/j.log"
    assert resolve_url("studies.log", tmp_path) == f"journal:{tmp_path}/studies.log"
    assert resolve_url("postgresql://u:p@db/x", tmp_path) == "postgresql://u:p@db/x"
    assert storage_kind("mysql+pymysql://u@h/db") == "rdb"
    assert redact("postgresql://user:secret@db:5432/x") == "postgresql://user:***@db:5432/x"
    for bad in ("", "redis://h", "ftp://x", "just-a-name", "journal:"):
        with pytest.raises(ValueError):
            check_storage_url(bad)


# With psycopg (the test extra) the server is unreachable; without it, the driver is missing.
PG_FAILS = "cannot open" if importlib.util.find_spec("psycopg") else "the database driver for postgresql is not installed"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://tailor@db.invalid:3306/studies", "the database driver for mysql is not installed (pymysql)"),
        ("postgresql://tailor@db.invalid:5432/studies", f"storage postgresql://tailor@db.invalid:5432/studies: {PG_FAILS}"),
        ("sqlite:////nonexistent-tailor-dir/x.db", "no such folder /nonexistent-tailor-dir"),
        ("journal:/nonexistent-tailor-dir/j.log", "no such folder /nonexistent-tailor-dir"),
        ("postgresql://u:$TAILOR_TEST_UNSET_PW@h/db", "environment variable $TAILOR_TEST_UNSET_PW is not set"),
    ],
)
def test_unreachable_storage_is_one_line(url: str, expected: str) -> None:
    with pytest.raises(SearchError) as exc:
        open_storage(url)
    assert expected in str(exc.value) and "\n" not in str(exc.value)
    assert "$TAILOR_TEST_UNSET_PW" in str(exc.value) or "secret" not in str(exc.value)


def test_sqlite_storage_reads_back_with_plain_optuna(tmp_path: Path) -> None:
    url = resolve_url(None, tmp_path)
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=3)
    again = optuna.load_study(study_name="s", storage=url)  # Optuna's own API, a plain URL string
    assert len(again.trials) == 3 and again.best_value == study.best_value


def test_journal_storage_heartbeat_fails_and_retries_dead_trials(tmp_path: Path) -> None:
    url = resolve_url(f"journal:{tmp_path}/j.log", tmp_path)
    storage = open_storage(url, heartbeat_interval=1, grace_period=1, max_retry=1)
    study = optuna.create_study(study_name="j", storage=storage)
    # A trial whose worker died: running, with a heartbeat from long ago.
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    storage.set_trial_system_attr(trial._trial_id, HEARTBEAT_ATTR, {"trial_id": trial._trial_id, "time": time.time() - 60})
    optuna.storages.fail_stale_trials(study)
    states = [t.state for t in study.get_trials()]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.WAITING]
    # The retry runs first, with the same parameters.
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    retried = study.get_trials()[1]
    assert retried.state == optuna.trial.TrialState.COMPLETE
    assert retried.params == study.get_trials()[0].params
    assert retried.system_attrs["failed_trial"] == 0
    # The journal file is a plain Optuna journal: Optuna's own JournalStorage reads it.
    from optuna.storages.journal import JournalFileBackend

    plain = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    assert len(optuna.load_study(study_name="j", storage=plain).trials) == 2


def test_a_live_journal_heartbeat_is_not_stale(tmp_path: Path) -> None:
    storage = open_storage(f"journal:{tmp_path}/j.log", heartbeat_interval=1, grace_period=30)
    study = optuna.create_study(study_name="j", storage=storage)
    trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    optuna.storages.fail_stale_trials(study)
    assert study.get_trials()[0].state == optuna.trial.TrialState.RUNNING


def test_optuna_dashboard_reads_the_study(tmp_path: Path) -> None:
    import io
    import json

    import optuna_dashboard as dashboard  # a test dependency: the storage must open in it

    url = resolve_url(None, tmp_path)
    study = optuna.create_study(study_name="dash", storage=open_storage(url))
    study.set_user_attr("tailor:objective", "eval_loss")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    app = dashboard.wsgi(url)  # what `optuna-dashboard URL` serves
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/studies", "QUERY_STRING": "", "SERVER_NAME": "x",
           "SERVER_PORT": "80", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO()}
    status: list[str] = []
    body = b"".join(app(env, lambda s, h, e=None: status.append(s)))
    assert status == ["200 OK"]
    assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["dash"]
