"""One SSH connection per host, opened lazily, verified against known_hosts, reopened with backoff.

Failures become one-line ``HostError`` messages: unknown or changed host key, wrong user or key,
unreachable host. Only the transient kind (``HostUnreachable``) is retried.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from typing import Any

import asyncssh

from tailor.engine.errors import HostError, ResumeRefused, RunError, TailorError
from tailor.engine.remote import known_hosts as kh
from tailor.engine.remote.hosts import Resolved, SSHHost, SSHSettings, all_hosts, resolve
from tailor.engine.remote.quoting import join, with_env

BACKOFF_START = 0.5
BACKOFF_MAX = 15.0
KEEPALIVE_S = 10.0
OP_RETRIES = 2  # an idempotent op is sent at most this many more times after a lost connection


class HostUnreachable(HostError):
    """The host could not be reached or the connection dropped: worth retrying."""


def backoff_delays(start: float = BACKOFF_START, cap: float = BACKOFF_MAX):
    """0.5, 1, 2, 4 ... capped, with jitter so many clients do not reconnect in lockstep."""
    delay = start
    while True:
        yield delay * (0.8 + 0.4 * random.random())
        delay = min(cap, delay * 2)


class HostConnection:
    def __init__(
        self, host: SSHHost, settings: SSHSettings, hosts: dict[str, SSHHost] | None = None
    ) -> None:
        self.host = host
        self.settings = settings
        self.hosts = hosts or {}
        self.resolved: Resolved = resolve(host, settings)
        self._conn: asyncssh.SSHClientConnection | None = None
        self._jump: HostConnection | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.home: str | None = None

    def _bind_loop(self) -> asyncio.Lock:
        """Connections belong to one event loop; a new loop (each CLI ``asyncio.run``) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._lock is None:
            self._loop, self._lock, self._conn = loop, asyncio.Lock(), None
        return self._lock

    @classmethod
    def for_workspace(cls, ws: Any, host: SSHHost) -> HostConnection:
        from tailor.engine.remote.hosts import ssh_settings

        return cls(host, ssh_settings(ws), all_hosts(ws))

    @property
    def name(self) -> str:
        return self.host.name

    # -- connecting ------------------------------------------------------------------
    async def tunnel(self) -> Any:
        jump = self.resolved.proxy_jump
        if not jump:
            return None
        if self._jump is None:
            target = self.hosts.get(jump) or _adhoc_host(jump)
            self._jump = HostConnection(target, self.settings, self.hosts)
        return await self._jump.get()

    async def connect_once(self) -> asyncssh.SSHClientConnection:
        r = self.resolved
        cfg = self.settings.config_path
        kwargs: dict[str, Any] = {
            "config": [str(cfg)] if cfg.is_file() else [],
            "known_hosts": kh.load_known_hosts(self.settings.known_hosts_path),
            "connect_timeout": self.host.connect_timeout,
            "keepalive_interval": KEEPALIVE_S,
            "keepalive_count_max": 3,
            "port": r.port,
            "username": r.user,
        }
        if self.host.identity_file:
            kwargs["client_keys"] = [str(_expand(p)) for p in self.host.identity_file]
        if not self.host.agent:
            kwargs["agent_path"] = None
        tunnel = await self.tunnel()
        if tunnel is not None:
            kwargs["tunnel"] = tunnel
        target = self.host.hostname or self.host.name
        try:
            return await asyncssh.connect(target, **kwargs)
        except asyncssh.HostKeyNotVerifiable:
            raise await self._host_key_error(tunnel) from None
        except asyncssh.PermissionDenied:
            keys = ", ".join(r.identity_files) or "default keys and ssh-agent"
            raise HostError(
                f"{self.name}: authentication failed for user {r.user!r} at {r.hostname}:{r.port} (tried {keys}); "
                f"check the user and identity_file (`tailor hosts edit {self.name}`) or load the key into ssh-agent"
            ) from None
        except (asyncssh.ConnectionLost, asyncssh.KeyExchangeFailed, ConnectionResetError) as exc:
            # A server that drops us during key exchange may offer only a host key type we do not
            # know for it (ed25519 -> ecdsa): that is a changed key, never retried as unreachable.
            changed = await self._changed_key(tunnel)
            if changed is not None:
                raise changed from None
            raise HostUnreachable(
                f"{self.name}: cannot connect to {r.hostname}:{r.port}: {kh.why(exc)}"
            ) from None
        except (TimeoutError, OSError) as exc:
            raise HostUnreachable(
                f"{self.name}: cannot connect to {r.hostname}:{r.port}: {kh.why(exc)}"
            ) from None
        except asyncssh.Error as exc:
            raise HostError(f"{self.name}: SSH error from {r.hostname}:{r.port}: {kh.why(exc)}") from None

    async def _changed_key(self, tunnel: Any) -> HostError | None:
        """The changed-key error when the server now offers a key known_hosts does not hold, else None."""
        path = self.settings.known_hosts_path
        if not kh.known_keys(path, self.resolved.hostname, self.resolved.port):
            return None
        try:
            check = await kh.check_host_key(path, self.resolved.hostname, self.resolved.port, tunnel=tunnel)
        except HostError:
            return None
        return HostError(kh.changed_message(path, check)) if check.state == "changed" else None

    async def _host_key_error(self, tunnel: Any) -> HostError:
        path = self.settings.known_hosts_path
        check = await kh.check_host_key(path, self.resolved.hostname, self.resolved.port, tunnel=tunnel)
        if check.state == "changed":
            return HostError(kh.changed_message(path, check))
        if check.state == "unknown":
            return HostError(kh.unknown_message(self.name, path, check))
        return HostError(f"{self.name}: host key verification failed for {check.pattern}")

    async def get(self, *, attempts: int = 4) -> asyncssh.SSHClientConnection:
        """The open connection, (re)connecting with backoff on transient failures."""
        async with self._bind_loop():
            if self._conn is not None and not _closed(self._conn):
                return self._conn
            self._conn = None
            delays = backoff_delays()
            for attempt in range(attempts):
                try:
                    self._conn = await self.connect_once()
                    break
                except HostUnreachable:
                    if attempt == attempts - 1:
                        raise
                    await asyncio.sleep(next(delays))
            assert self._conn is not None
            if self.home is None:
                result = await self._conn.run("printf '%s' \"$HOME\"", check=False)
                self.home = str(result.stdout or "").strip() or "/"
            return self._conn

    def drop(self) -> None:
        """Forget a connection that failed (the next ``get`` opens a new one)."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    async def close(self) -> None:
        if self._loop is not asyncio.get_running_loop():
            self._conn = None  # opened on a loop that is gone: nothing left to close here
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None
        if self._jump is not None:
            await self._jump.close()

    # -- remote paths and commands ----------------------------------------------------
    def expand(self, path: str) -> str:
        """``~`` on the host, expanded here so every path can be quoted."""
        if path == "~" or path.startswith("~/"):
            if self.home is None:  # quoted, a literal "~" would never be expanded by the host's shell
                raise HostError(f"{self.name}: internal: {path} used before the host's home directory is known")
            return self.home.rstrip("/") + path[1:]
        return path

    @property
    def workspace(self) -> str:
        return self.expand(self.host.remote_workspace)

    @property
    def python(self) -> str:
        return self.expand(self.host.remote_python)

    async def run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = 120, env: bool = True
    ) -> asyncssh.SSHCompletedProcess:
        conn = await self.get()
        cmd = join(with_env(argv, self.host.env if env else None))
        try:
            result = await conn.run(cmd, input=input, check=False, timeout=timeout)
        except asyncssh.TimeoutError:
            raise HostError(f"{self.name}: `{argv[0]} ...` did not finish within {timeout:.0f}s") from None
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.ChannelOpenError, OSError) as exc:
            self.drop()
            raise HostUnreachable(f"{self.name}: connection lost: {kh.why(exc)}") from None
        if result.exit_status is None:
            # The channel closed without an exit status (asyncssh sets -1 for a signal): the session was cut
            # (sshd killed, network gone), not a command that failed. The command may or may not have run.
            self.drop()
            raise HostUnreachable(f"{self.name}: connection lost before `{argv[0]} ...` reported its exit status")
        return result

    def op_argv(self, op: str, *args: str) -> list[str]:
        """``python -m tailor.engine.remote OP``; ``--type`` tells the host which run control to build."""
        return [self.python, "-m", "tailor.engine.remote", op, "--ws", self.workspace, "--type", self.host.type, *args]

    async def op(
        self, op: str, *args: str, payload: Any = None, timeout: float | None = 120, retry: bool = True
    ) -> Any:
        """Run ``python -m tailor.engine.remote OP`` on the host and return its JSON answer.

        ``retry``: the op is idempotent (status, events, manifest...), so a lost connection is reopened
        (with backoff, ``get``) and the op sent again, up to ``OP_RETRIES`` times. Non-idempotent callers
        pass False and decide themselves what a lost answer means (``SSHExecutor.launch``)."""
        data = None if payload is None else json.dumps(payload)
        for attempt in range(OP_RETRIES + 1):
            await self.get()  # learns the host's $HOME first: ``~`` in workdir/python is expanded from it
            try:
                result = await self.run(self.op_argv(op, *args), input=data, timeout=timeout)
                break
            except HostUnreachable:
                if not retry or attempt == OP_RETRIES:
                    raise
        return self.parse(result, op)

    def parse(self, result: asyncssh.SSHCompletedProcess, op: str) -> Any:
        return self.parse_output(result.exit_status, str(result.stdout or ""), str(result.stderr or ""), op)

    def parse_output(self, exit_status: int | None, out: str, err: str, op: str) -> Any:
        """The JSON answer of a remote op, or a one-line HostError/RunError."""
        out, err = out.strip(), err.strip()
        last = out.splitlines()[-1] if out else ""
        try:
            answer = json.loads(last) if last else None
        except ValueError:
            answer = None
        if isinstance(answer, dict) and "error" in answer and exit_status != 0:
            classes: dict[str, type[TailorError]] = {"run": RunError, "changes": ResumeRefused}
            cls = classes.get(str(answer.get("kind")), HostError)
            raise cls(f"{self.name}: {answer['error']}")
        if exit_status != 0 or answer is None:
            if "No module named 'tailor'" in err:
                # Installs before the one `tailor` namespace had top-level `engine`/`tui` packages only.
                raise HostError(
                    f"{self.name}: {self.python} has no `tailor` package (an install from before Tailor "
                    f"0.1's one namespace, or none): run `tailor hosts setup {self.name}` again"
                )
            if exit_status == 127 or "No module named" in err or "No such file" in err:
                what = " ".join(err.splitlines()[-1:])[:300] or f"exit status {exit_status}"
                raise HostError(
                    f"{self.name}: ran `{self.python} -m tailor.engine.remote {op}` and it failed ({what}); "
                    f"Tailor is not installed for that interpreter: run `tailor hosts setup {self.name}` "
                    f"or set hosts.{self.name}.python to an interpreter that has it"
                )
            tail = " ".join(err.splitlines()[-1:]) or f"exit status {exit_status}"
            raise HostError(f"{self.name}: remote `{op}` failed: {tail}")
        return answer


def _adhoc_host(spec: str) -> SSHHost:
    """A ProxyJump given as ``[user@]host[:port]`` rather than as a host alias."""
    user, _, rest = spec.rpartition("@")
    hostname, _, port = rest.partition(":")
    return SSHHost(
        name=hostname.replace("[", "").replace("]", "") or "jump",
        hostname=hostname,
        user=user or None,
        port=int(port) if port.isdigit() else None,
    )


def _expand(path: str) -> str:
    from pathlib import Path

    return str(Path(path).expanduser())


def _closed(conn: asyncssh.SSHClientConnection) -> bool:
    transport = getattr(conn, "_transport", None)
    return transport is None or transport.is_closing()
