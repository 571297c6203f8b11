"""Where studies live: Optuna storage from a URL, with trial heartbeats and one-line errors.

* default: ``sqlite:///<workspace>/studies.db`` (Optuna's RDB storage; a few local workers share it)
* any SQLAlchemy URL (``postgresql://...``, ``mysql+pymysql://...``): workers on several hosts
* ``journal:PATH``: Optuna's journal file storage (``JournalStorage`` + ``JournalFileBackend``), for a
  folder shared over NFS between machines

All of them open unchanged with ``optuna-dashboard URL`` and the ``optuna`` CLI (a journal file:
``optuna-dashboard PATH``). Relative paths are relative to the workspace root. ``$VARS`` are expanded
when the storage is opened, so passwords stay in the environment and out of frozen recipes.

This module is light: Optuna is imported inside the functions that open a storage.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from tailor.engine import stack
from tailor.engine.recipes.storage_url import storage_kind
from tailor.engine.search import SearchError

HEARTBEAT_ATTR = "tailor:heartbeat"  # journal storage: last heartbeat (unix seconds) of a running trial
_DRIVERS = {"postgresql": "psycopg[binary]", "postgres": "psycopg[binary]", "mysql": "pymysql", "mariadb": "pymysql"}


def resolve_url(url: str | None, root: Path) -> str:
    """The canonical form: ``sqlite:////abs.db``, ``journal:/abs`` or the RDB URL (env not expanded)."""
    if not url:
        return f"sqlite:///{Path(root) / 'studies.db'}"
    text = url.strip()
    kind = storage_kind(text)
    if kind == "journal":
        return f"journal:{_absolute(text.removeprefix('journal:').strip(), root)}"
    if kind == "sqlite":
        if "://" not in text:
            return f"sqlite:///{_absolute(text, root)}"
        head, _, rest = text.partition(":///")
        path, q, query = rest.partition("?")
        if path and not path.startswith("/") and "$" not in path:
            path = str(_absolute(path, root))
        return f"{head}:///{path}{q}{query}"
    return text


def host_local_storage(url: str | None) -> str | None:
    """Why a storage cannot be shared when the search runs on another host, or None when it can be.

    The default storage and relative paths resolve against the *worker's* workspace, so on a remote host
    they would make a study there that this machine and other hosts never see.
    """
    if not url:
        return "the default storage (the workspace's studies.db)"
    text = url.strip()
    kind = storage_kind(text)
    if kind == "rdb":
        return None
    path = text.removeprefix("journal:").strip() if kind == "journal" else text
    if "://" in path:
        path = path.partition(":///")[2].split("?")[0]
    if path.startswith(("/", "~", "$")):
        return None
    return f"storage {text} (a path relative to the workspace)"


def check_remote_storage(url: str | None, host: str, source: str = "") -> None:
    """Refuse a search on an SSH host whose study would live only in that host's workspace."""
    problem = host_local_storage(url)
    if problem is None:
        return
    where = f"{source}: " if source else ""
    raise SearchError(
        f"{where}storage: a search on host {host} with {problem} would keep its study on {host} alone, "
        "unseen here and by other hosts; set storage to an RDB URL every host reaches "
        "(postgresql://user@db/studies) or journal:/ABS/PATH on a filesystem all hosts share "
        f"(an absolute path on {host} keeps the study there on purpose)"
    )


def check_host_launch(recipe: Any, host: str, source: str) -> None:
    """The search kind's check before a launch on an SSH host (engine.kinds: ``host_check``)."""
    check_remote_storage(recipe.storage.url, host, source)


def _absolute(path: str, root: Path) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() or "$" in path else (Path(root) / p)


def redact(url: str) -> str:
    """The URL without its password (for status files, logs and the UI)."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", url)


def expand(url: str) -> str:
    """Expand ``$VAR`` / ``${VAR}``; a variable that is not set is an error, not an empty string."""
    missing = [m for m in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", url) if m not in os.environ]
    if missing:
        raise SearchError(f"storage {redact(url)}: environment variable ${missing[0]} is not set")
    return os.path.expandvars(url)


def require_optuna() -> None:
    """On a light install (no Optuna), one line naming the extra, before anything imports Optuna."""
    stack.require("a search study (the Search screen, tailor search ls/status)", ("optuna",))


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = 10,
    grace_period: int | None = None,
    max_retry: int | None = 2,
) -> Any:
    """An Optuna storage for a resolved URL; heartbeats on, stale trials retried up to ``max_retry`` times.

    Every failure (missing driver, unreachable server, unwritable folder) is a one-line SearchError.
    """
    import warnings

    require_optuna()

    import optuna
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    real = _driver(expand(url))
    kind = storage_kind(real)
    callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry) if heartbeat_interval else None
    shown = redact(url)
    if kind == "journal":
        path = Path(real.removeprefix("journal:"))
        if not path.parent.is_dir():
            raise SearchError(f"storage {shown}: no such folder {path.parent}")
        try:
            from optuna.storages.journal import JournalFileBackend

            return HeartbeatJournalStorage(
                JournalFileBackend(str(path)), heartbeat_interval, grace_period, callback
            )
        except OSError as exc:
            raise SearchError(f"storage {shown}: cannot open the journal file: {exc.strerror or exc}") from None
    engine_kwargs: dict[str, Any] = {}
    if kind == "sqlite":
        path = Path(real.split(":///", 1)[1].split("?")[0])
        if not path.parent.is_dir():
            raise SearchError(f"storage {shown}: no such folder {path.parent}")
        engine_kwargs = {"connect_args": {"timeout": 60}}  # several local workers wait for the write lock
    else:
        scheme = real.split("://", 1)[0].split("+")[0].lower()
        if scheme in ("postgresql", "postgres", "mysql", "mariadb"):
            engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    try:
        return optuna.storages.RDBStorage(
            real,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=callback,
        )
    except ImportError as exc:
        scheme = real.split("://", 1)[0]
        pkg = _DRIVERS.get(scheme.split("+")[0].lower(), "the SQLAlchemy driver for it")
        raise SearchError(f"storage {shown}: the database driver for {scheme} is not installed ({pkg}): {exc}") from None
    except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, ...
        text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        raise SearchError(f"storage {shown}: cannot open: {text}") from None


def _driver(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; use psycopg 3 (``pip install 'psycopg[binary]'``,
    what Tailor's ``postgres`` extra installs) when it is the driver that is there."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres") or not sep or importlib.util.find_spec("psycopg2") is not None:
        return url
    return f"postgresql+psycopg://{rest}" if importlib.util.find_spec("psycopg") is not None else url


def _heartbeat_journal_class() -> type:
    from optuna.storages import JournalStorage
    from optuna.storages._heartbeat import BaseHeartbeat
    from optuna.trial import TrialState

    class _Storage(JournalStorage, BaseHeartbeat):
        """Journal storage with Optuna's heartbeat protocol (RDB has it built in; journal does not).

        The heartbeat is a trial system attribute, so the file stays a plain Optuna journal.
        """

        def __init__(self, backend: Any, interval: int | None, grace: int | None, callback: Any) -> None:
            super().__init__(backend)
            self._interval = interval
            self._grace = grace or (2 * interval if interval else None)
            self._callback = callback

        def record_heartbeat(self, trial_id: int) -> None:
            # The trial id goes with the time: a retried trial copies its predecessor's attributes.
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, {"trial_id": trial_id, "time": time.time()})

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            if not self._grace:
                return []
            now = time.time()
            stale = []
            for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
                beat = t.system_attrs.get(HEARTBEAT_ATTR)
                if isinstance(beat, dict) and beat.get("trial_id") == t._trial_id and now - beat["time"] > self._grace:
                    stale.append(t._trial_id)
            return stale

        def get_heartbeat_interval(self) -> int | None:
            return self._interval

        def get_heartbeat_stale_trial_callback(self) -> Any:
            return self._callback

    return _Storage


def HeartbeatJournalStorage(backend: Any, interval: int | None, grace: int | None, callback: Any) -> Any:
    global _JOURNAL_CLASS
    if _JOURNAL_CLASS is None:
        _JOURNAL_CLASS = _heartbeat_journal_class()
    return _JOURNAL_CLASS(backend, interval, grace, callback)


_JOURNAL_CLASS: type | None = None
