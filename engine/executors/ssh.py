"""Runs workers on a remote host over SSH (asyncssh), surviving dropped connections.

The host runs the same worker (``python -m tailor.engine.worker RUN_DIR``) in its own session under
``<workdir>/workspace/runs/<run_id>`` (0700), started by ``python -m tailor.engine.remote launch``. This side
keeps a mirror of each remote run in the local workspace (see engine/remote/mirror.py), so the TUI and
CLI read remote runs like local ones and a reopened TUI reattaches from the last seq it holds.

A subclass (another host type reached over SSH, such as ``SlurmExecutor``) sets ``type`` and
``host_settings`` and overrides only the public hooks below: ``control_settings`` (what its host-side
control gets with a launch or resume), ``fit_warnings`` (the launch's fit check) and ``gpus``. How the host
starts workers is its control's business (engine/executors/registry.py), not the executor's.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import os
import shutil
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import asyncssh
import yaml

from tailor import engine
from tailor.engine import kinds
from tailor.engine.errors import HostError, RunError
from tailor.engine.executors.base import Executor, FetchReport, FitPolicy, prepare_launch
from tailor.engine.recipes.load import dump_recipe
from tailor.engine.remote.connection import HostConnection, HostUnreachable, backoff_delays
from tailor.engine.remote.hosts import SSHHost, all_hosts, get_host, ssh_settings
from tailor.engine.remote.mirror import REMOTE_FILE, Mirror, as_local
from tailor.engine.remote.quoting import join, secrets_from, with_env
from tailor.engine.remote.sync import sync_data
from tailor.engine.runs.events import Event
from tailor.engine.runs.status import Status
from tailor.engine.workspace import Workspace

READ_TIMEOUT_S = 20.0  # the host pings every 5 s while following; silence this long means a dead link
CANCEL_POLL_S = 0.5


class SSHExecutor(Executor):
    type: ClassVar[str] = "ssh"
    host_settings: ClassVar[builtins.type[SSHHost]] = SSHHost
    remote: ClassVar[bool] = True
    has_gpu_inventory: ClassVar[bool] = True

    def __init__(
        self,
        workspace: Workspace,
        host: SSHHost,
        conn: HostConnection,
        *,
        reconnect_timeout: float = 600.0,
    ) -> None:
        self.workspace = workspace
        self.config = host
        self.host = host.name
        self.conn = conn
        self.reconnect_timeout = reconnect_timeout
        self._info: dict[str, Any] | None = None
        #: Called with one line when a follow loses its connection or gets it back (a silent pause
        #: looks like a hung run).
        self.on_notice: Callable[[str], None] | None = None

    @classmethod
    def for_host(cls, workspace: Workspace, host: str, **kwargs: Any) -> SSHExecutor:
        config = get_host(workspace, host)
        conn = HostConnection(config, ssh_settings(workspace), all_hosts(workspace))
        return cls(workspace, config, conn, **kwargs)

    async def close(self) -> None:
        await self.conn.close()

    async def info(self) -> dict[str, Any]:
        """The host's Tailor/Python versions and remote workspace (cached per executor)."""
        if self._info is None:
            self._info = await self.conn.op("info")
        return self._info

    def _notice(self, message: str) -> None:
        """Tell whoever follows (``on_notice``: the CLI prints it, the TUI notifies) about the link."""
        if self.on_notice is not None:
            with contextlib.suppress(Exception):
                self.on_notice(message)

    def _secrets(self) -> dict[str, str]:
        return secrets_from(os.environ, self.config.forward_env)

    # -- hooks a subclass may override: control_settings here, fit_warnings and gpus below ---
    def control_settings(self) -> dict[str, Any] | None:
        """Settings the host side's run control gets with a launch or a resume (its ``Control.on_host``
        ``settings``): a Slurm host's ``slurm:`` block. None: nothing beyond the host type."""
        return None

    def mirror(self, run_id: str) -> Mirror:
        return Mirror(self.workspace.runs_dir, run_id)

    async def _ensure_mirror(self, run_id: str, *, listed: bool = False) -> Mirror:
        mirror = self.mirror(run_id)
        if not (mirror.path / REMOTE_FILE).exists():
            if not listed:  # a run the host does not have is refused before a mirror is made for it
                await self.conn.op("status", run_id)
            info = await self.info()
            mirror.create(self.host, f"{info['workspace']}/runs/{run_id}")
        elif mirror.info.get("host") != self.host:
            raise RunError(f"run {run_id} belongs to host {mirror.info.get('host')!r}, not {self.host!r}")
        return mirror

    # -- launching -----------------------------------------------------------------------
    async def launch(
        self,
        recipe: str | Path,
        *,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
        links: dict[str, Any] | None = None,
        fit: FitPolicy = "warn",
    ) -> Status:
        """Sync data, create the remote run directory, start the worker detached; return at once.

        ``fit``: "warn" records a warning (``status.warnings``) when the recipe's estimated GPU memory
        exceeds the host's free memory, "refuse" raises instead, "skip" does not check.
        """
        prepared = prepare_launch(recipe, host=self.host, name=name, overrides=overrides, links=links)
        path, parsed, run_id = prepared.path, prepared.recipe, prepared.run_id
        kinds.get(parsed.kind).check_host(parsed, self.host, str(path))  # search: a study on that host alone
        info = await self.info()
        if info.get("tailor_version") != engine.__version__:
            raise HostError(
                f"{self.host}: has Tailor {info.get('tailor_version')} but this is {engine.__version__}; "
                f"run `tailor hosts setup {self.host}` to install the same version there"
            )
        warnings = await self.fit_warnings(parsed, fit)
        data = parsed.model_dump(mode="json")
        report = await sync_data(self.conn, data, info["store"])
        status = prepared.status
        mirror = self.mirror(run_id).create(
            self.host, f"{info['workspace']}/runs/{run_id}", dump_recipe(parsed)
        )
        payload = {
            "run_id": run_id,
            "recipe": yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
            "status": status.model_dump(mode="json"),
            "env": self._secrets(),
            "settings": self.control_settings(),
        }
        try:
            remote = await self._send_launch(run_id, payload)
        except HostUnreachable as exc:
            # The run may exist there: its mirror stays, listed as last known (never a hidden run).
            mirror.write_status(status.model_copy(update={"stale": f"launch unconfirmed: {exc}"}), self.host)
            raise
        except BaseException:
            shutil.rmtree(mirror.path, ignore_errors=True)
            raise
        if remote.pop("launch", None) == "existed":
            warnings = [*warnings, f"the connection to {self.host} dropped during the launch; on reconnecting, run "
                        f"{run_id} was found started there by that first attempt: it is mirrored here, not started twice"]
        elif remote.pop("relaunched", False):
            warnings = [*warnings, f"the connection to {self.host} dropped during the launch; on reconnecting, run "
                        f"{run_id} was not there, so it was launched then (once)"]
        extra = {"data_uploaded": report.uploaded, "data_skipped": report.skipped, "warnings": warnings}
        _update_json(mirror.path / REMOTE_FILE, extra)
        local = mirror.write_status(remote, self.host)
        return local.model_copy(update={"warnings": warnings})  # (a dump would drop ``via``)

    async def _send_launch(self, run_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send the launch; when its connection drops, reconnect and send the same launch again.

        The host answers a launch of a run id it already has (same recipe) with ``"launch": "existed"``
        (engine/remote/server.py ``op_launch``), so the retry finds out whether the first attempt started
        the run, and never starts a second worker. If the host cannot be reached again, the error says the
        run may be there and the mirror is kept (``tailor runs`` lists it; ``logs -f`` reattaches)."""
        try:
            return dict(await self.conn.op("launch", payload=payload, retry=False))
        except HostUnreachable as exc:
            self._notice(f"{self.host}: {exc}; reconnecting to find out whether run {run_id} started")
        try:
            answer = dict(await self.conn.op("launch", payload=payload, retry=True))
        except HostUnreachable as exc:
            raise HostUnreachable(
                f"{exc}; the launch of run {run_id} may have reached the host: it is listed by `tailor runs`, "
                f"and `tailor logs -f {run_id}` reattaches once {self.host} answers"
            ) from None
        if answer.get("launch") == "started":
            answer["relaunched"] = True
        return answer

    async def fit_warnings(self, recipe: Any, mode: FitPolicy) -> list[str]:
        """The launch's fit check (``fit`` policy ``mode``): a warning per problem, or raise to refuse.
        This one compares the recipe's GPU memory estimate with ``gpus()``; a host whose scheduler decides
        where jobs fit returns []."""
        if mode == "skip":
            return []
        from tailor.engine.memory_estimate import check_fit, estimate_recipe
        estimate = await asyncio.to_thread(estimate_recipe, recipe)  # may ask the hub (engine.model_config)
        verdict = check_fit(estimate, await self.gpus(), gpus_wanted=_gpus_wanted(recipe))
        if verdict.fits or verdict.message is None:
            return []
        if mode == "refuse":
            raise HostError(f"{self.host}: {verdict.message}; not launched")
        return [f"{self.host}: {verdict.message}; a warning only: the run was launched"]

    # -- reading ---------------------------------------------------------------------------
    async def status(self, run_id: str) -> Status:
        mirror = await self._ensure_mirror(run_id)
        if finished_here(mirror):
            return as_local(mirror.run.read_status(), self.host)
        try:
            return mirror.write_status(await self.conn.op("status", run_id), self.host)
        except HostUnreachable:
            if not _last_state_terminal(mirror):
                raise
            return as_local(mirror.run.read_status(), self.host)  # ended when last seen; the host is gone for now

    async def list_runs(self) -> list[Status]:
        out = []
        for raw in await self.conn.op("list"):
            try:  # an id that collides with a local run, or a malformed entry, is left out, never adopted
                mirror = await self._ensure_mirror(str(raw.get("run_id")), listed=True)
                out.append(mirror.write_status(raw, self.host))
            except (RunError, AttributeError):
                continue
        return out

    async def events(self, run_id: str, after: int = 0) -> list[Event]:
        """The run's events, brought up to date from the host; a finished run whose mirror holds its end
        is read from the mirror alone, and so is a finished one whose host cannot be reached (said)."""
        mirror = await self._ensure_mirror(run_id)
        if finished_here(mirror):
            return mirror.run.events(after)
        held = mirror.last_seq()
        try:
            fresh = await self.conn.op("events", run_id, "--after", str(held))
        except HostUnreachable as exc:
            if not _last_state_terminal(mirror):
                raise
            self._notice(f"{exc}; showing the events mirrored here (up to seq {held})")
            return mirror.run.events(after)
        mirror.append(fresh)
        return mirror.run.events(after)

    async def follow(self, run_id: str, after: int = 0, *, until_done: bool = True) -> AsyncIterator[Event]:
        """Events with seq > after: first those mirrored here, then streamed live from the host.

        A dropped connection is reopened with backoff and the stream resumes after the last seq held,
        so no event is lost or repeated. Gives up (HostUnreachable) after ``reconnect_timeout``.
        """
        mirror = await self._ensure_mirror(run_id)
        for event in mirror.run.events(after):
            after = event["seq"]
            yield event
        if finished_here(mirror):
            return  # the mirror holds the run's end: nothing more will come from the host
        delays = backoff_delays()
        down_since: float | None = None
        attempt = 0
        while True:
            try:
                async with contextlib.aclosing(self._stream(run_id, after, until_done)) as stream:
                    async for msg in stream:
                        if attempt:
                            self._notice(f"{self.host}: reconnected after {attempt} attempt(s); following from seq {after}")
                        down_since, delays, attempt = None, backoff_delays(), 0
                        if "seq" in msg:
                            mirror.append([msg])
                            if msg["seq"] > after:
                                after = msg["seq"]
                                yield msg
                        elif msg.get("_") in ("status", "end"):
                            mirror.write_status(msg["status"], self.host)
                        if msg.get("_") == "end":
                            return
            except (
                HostUnreachable,
                asyncssh.ConnectionLost,
                asyncssh.DisconnectError,
                asyncssh.ChannelOpenError,  # the connection died between two sessions
                OSError,
                TimeoutError,
            ):
                self.conn.drop()
                if attempt and _last_state_terminal(mirror):  # ended when last seen, host still gone: no wait
                    self._notice(
                        f"{self.host}: cannot be reached; run {run_id} had ended when last seen: "
                        f"showed the events mirrored here (up to seq {after})"
                    )
                    return
            now = time.monotonic()
            down_since = down_since or now
            if now - down_since > self.reconnect_timeout:
                raise HostUnreachable(
                    f"{self.host}: lost the connection for {self.reconnect_timeout:.0f}s; "
                    f"the run goes on there; `tailor logs -f {run_id}` reattaches"
                )
            delay = next(delays)
            attempt += 1
            self._notice(f"{self.host}: connection lost; reconnecting, attempt {attempt} in {delay:.0f} s")
            await asyncio.sleep(delay)

    async def _stream(self, run_id: str, after: int, until_done: bool) -> AsyncGenerator[dict[str, Any], None]:
        """One ``follow`` session on the host: JSON lines until it ends or the connection drops."""
        conn = await self.conn.get(attempts=1)
        args = ["follow", run_id, "--after", str(after)] + ([] if until_done else ["--forever"])
        cmd = join(with_env(self.conn.op_argv(*args), self.config.env))
        proc = await conn.create_process(cmd, stdin=asyncssh.DEVNULL)
        ended = False
        try:
            while True:
                line = await asyncio.wait_for(proc.stdout.readline(), READ_TIMEOUT_S)
                if not line:
                    break
                msg = json.loads(line)
                if "error" in msg and "seq" not in msg:
                    cls = RunError if msg.get("kind") == "run" else HostError
                    raise cls(f"{self.host}: {msg['error']}")
                ended = msg.get("_") == "end"
                yield msg
                if ended:
                    return
            await asyncio.wait_for(proc.wait_closed(), 5)
            if proc.exit_status not in (None, 0):
                err = await proc.stderr.read()
                self.conn.parse_output(proc.exit_status, "", str(err), "follow")
            raise HostUnreachable(f"{self.host}: follow stream ended early")
        finally:
            proc.close()

    # -- control ---------------------------------------------------------------------------
    async def cancel(self, run_id: str, *, wait: float = 0.0) -> Status:
        mirror = await self._ensure_mirror(run_id)
        status = mirror.write_status(await self.conn.op("cancel", run_id), self.host)
        deadline = time.monotonic() + wait
        while not status.state.terminal and time.monotonic() < deadline:
            await asyncio.sleep(CANCEL_POLL_S)
            status = await self.status(run_id)
        return status

    async def resume(self, run_id: str, *, accept_changes: bool = False) -> Status:
        mirror = await self._ensure_mirror(run_id)
        payload = {"env": self._secrets(), "settings": self.control_settings(), "accept_changes": accept_changes}
        remote = await self.conn.op("resume", run_id, payload=payload, retry=False)
        return mirror.write_status(remote, self.host)

    async def gpus(self) -> list[Any]:
        """The host's GPUs (nvidia-smi over SSH); a subclass without an inventory returns []."""
        from tailor.engine.remote.gpus import gpu_inventory

        return await gpu_inventory(self.conn)

    async def fetch(self, run_id: str, dest: Path | None = None) -> FetchReport:
        """Bring adapter, checkpoints, eval results and logs into the mirror (or ``dest``)."""
        from tailor.engine.remote.fetch import fetch_run

        mirror = await self._ensure_mirror(run_id)
        target = Path(dest) if dest is not None else mirror.path
        target.mkdir(parents=True, exist_ok=True)
        await self.events(run_id)  # complete the mirrored events first
        report = await fetch_run(self.conn, run_id, target)
        await self.status(run_id)
        return report

    async def delete(self, run_id: str) -> str:
        """Delete the run directory on the host (refused while the run is active). Callers confirm first."""
        mirror = await self._ensure_mirror(run_id)
        answer = await self.conn.op("rm", run_id)
        _update_json(mirror.path / REMOTE_FILE, {"deleted": True, "deleted_at": time.time()})
        return answer["removed"]


def finished_here(mirror: Mirror) -> bool:
    """The mirror holds the whole of a finished run: its status is terminal and its last status event
    says the same state (the worker writes that event last), so the host has nothing more to send. A run
    deleted on its host is not: the host answers for it (that it is gone)."""
    if not _last_state_terminal(mirror) or _deleted(mirror):
        return False
    state = mirror.run.read_status().state.value
    for event in reversed(mirror.run.events(max(mirror.last_seq() - 20, 0))):
        if event.get("type") == "status":
            return bool(event.get("state") == state)
    return False


def _deleted(mirror: Mirror) -> bool:
    try:
        return bool(json.loads((mirror.path / REMOTE_FILE).read_text(encoding="utf-8")).get("deleted"))
    except (OSError, ValueError, AttributeError):
        return False


def _last_state_terminal(mirror: Mirror) -> bool:
    """The mirrored status (the host's last answer) says the run ended."""
    try:
        return mirror.run.read_status().state.terminal
    except RunError:
        return False


def local_status(raw: dict[str, Any], host: str) -> Status:
    return as_local(Status.model_validate(raw), host)


def _gpus_wanted(recipe: Any) -> int:
    resources = getattr(recipe, "resources", None)
    return int(getattr(resources, "gpus", 1) or 0)


def _update_json(path: Path, extra: dict[str, Any]) -> None:
    from tailor.engine.fsutil import atomic_write_json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data.update(extra)
    atomic_write_json(path, data)
