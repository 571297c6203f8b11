"""Local mirrors of remote runs: ``<workspace>/runs/<run_id>/`` with a ``remote.json``.

The mirror holds ``remote.json`` (host alias + remote path), ``status.json`` (the remote status, with
``host`` set to the alias and the remote machine's name in ``remote_hostname``), ``recipe.yaml`` (as
launched, local paths) and ``events.jsonl`` holding exactly the remote events, appended in seq order
(dedupe by seq, under a file lock, so two followers never write an event twice). Fetched artefacts
land in the same folder. The TUI and CLI read it like any run directory; a reopened TUI finds remote
runs here and follows them from ``last_seq()``.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from tailor.engine.errors import RunError
from tailor.engine.fsutil import atomic_write_json, atomic_write_text, private_dir
from tailor.engine.runs.events import Event, check_event, last_seq
from tailor.engine.runs.rundir import RunDir, check_run_id
from tailor.engine.runs.status import Status

REMOTE_FILE = "remote.json"


def is_remote(run: RunDir) -> bool:
    return os.path.isfile(f"{run.path}/{REMOTE_FILE}")  # not pathlib: listings ask for every run


def remote_info(run: RunDir) -> dict[str, Any]:
    try:
        return json.loads((run.path / REMOTE_FILE).read_text())
    except FileNotFoundError:
        raise RunError(f"run {run.run_id} is not a remote run (no {REMOTE_FILE})") from None
    except ValueError as exc:
        raise RunError(f"{run.path / REMOTE_FILE}: unreadable: {exc}") from None


def host_of(run: RunDir) -> str | None:
    """The host alias of a mirrored remote run, or None for a local run."""
    return remote_info(run).get("host") if is_remote(run) else None


class Mirror:
    def __init__(self, runs_dir: Path, run_id: str) -> None:
        self.run = RunDir(Path(runs_dir) / check_run_id(run_id))

    @property
    def path(self) -> Path:
        return self.run.path

    def create(self, host: str, remote_path: str, recipe_yaml: str | None = None) -> Mirror:
        """Make the mirror folder. A local run (or anything else) already under that id is never adopted."""
        if self.path.exists() and not (self.path / REMOTE_FILE).exists() and any(self.path.iterdir()):
            raise RunError(
                f"run id {self.run.run_id} from host {host} collides with a local run of that id; "
                "it is not mirrored (rename or delete one of them)"
            )
        private_dir(self.path.parent)
        private_dir(self.path)
        info = {"host": host, "path": remote_path, "run_id": self.run.run_id}
        if not (self.path / REMOTE_FILE).exists():
            atomic_write_json(self.path / REMOTE_FILE, info)
        if recipe_yaml is not None:
            atomic_write_text(self.run.recipe_file, recipe_yaml)
        return self

    @property
    def info(self) -> dict[str, Any]:
        return remote_info(self.run)

    def last_seq(self) -> int:
        return last_seq(self.run.events_file)

    def write_status(self, remote: Status | dict[str, Any], host: str) -> Status:
        try:
            status = remote if isinstance(remote, Status) else Status.model_validate(remote)
        except ValueError as exc:
            raise RunError(f"{host}: sent an unreadable status for {self.run.run_id}: {str(exc)[:200]}") from None
        if status.run_id != self.run.run_id:
            raise RunError(f"{host}: sent the status of {status.run_id!r} for run {self.run.run_id}; ignored")
        local = as_local(status, host)
        atomic_write_json(self.run.status_file, local.model_dump(mode="json"))
        return local

    def append(self, events: list[Event]) -> list[Event]:
        """Append the events not yet held (seq above the last one here); return those appended."""
        events = [e for e in (check_event(x) for x in events) if e is not None]  # a host's garbage stays out
        if not events:
            return []
        fd = os.open(self.run.events_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            top = last_seq(self.run.events_file)
            new = []
            for event in sorted(events, key=lambda e: e["seq"]):
                if event["seq"] > top:
                    new.append(event)
                    top = event["seq"]
            if new:
                os.write(fd, "".join(json.dumps(e) + "\n" for e in new).encode())
            return new
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def as_local(status: Status, host: str) -> Status:
    """A remote status as shown here: ``host`` is the alias used to reach it."""
    extra = {"remote_hostname": status.host} if status.host and status.host != host else {}
    return status.model_copy(update={"host": host, "via": host, **extra})
