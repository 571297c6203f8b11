"""Talk to a chat worker (light: asyncio only): start it here or on an SSH host, load, chat, close.

    worker = await ChatWorker.start(ws)                 # or ChatWorker.start(ws, host="gpu1")
    await worker.load("base", base_of="sft-...")
    async for event in worker.chat(messages, ChatSettings(seed=1)):
        ...                                              # {"event": "token", "text": ...}, then "done"

The SSH worker is ``python -m tailor.engine.chat`` on the host, started over the host's connection
(``HostConnection``) with a quoted argv; tokens come back over the same channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from tailor.engine import stack
from tailor.engine.chat.protocol import TERMINAL, ChatSettings
from tailor.engine.errors import TailorError

if TYPE_CHECKING:
    from tailor.engine.workspace import Workspace

START_TIMEOUT_S = 120.0


class ChatError(TailorError):
    """The worker answered with an error, or died."""


class ChatWorker:
    def __init__(self, proc: Any, *, remote: bool, host: str = "local") -> None:
        self._proc = proc
        self._remote = remote
        self.host = host
        self._lock = asyncio.Lock()
        self._next_id = 0
        self._conn: Any = None  # the SSH connection of a remote worker (closed with it)

    # -- starting -----------------------------------------------------------------------
    @classmethod
    async def start(cls, ws: Workspace, host: str | None = None) -> ChatWorker:
        if host in (None, "", "local", "localhost"):
            stack.require("a local chat", launch=True)
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tailor.engine.chat", "--ws", str(ws.root),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                env=env, limit=1 << 22,
            )
            worker = cls(proc, remote=False)
        else:
            worker = await cls._start_remote(ws, str(host))
        await worker._expect_ready()
        return worker

    @classmethod
    async def _start_remote(cls, ws: Workspace, host: str) -> ChatWorker:
        from tailor.engine.remote.connection import HostConnection
        from tailor.engine.remote.hosts import get_host
        from tailor.engine.remote.quoting import join, with_env

        config = get_host(ws, host)
        conn = HostConnection.for_workspace(ws, config)
        ssh = await conn.get()
        cmd = join(with_env([conn.python, "-m", "tailor.engine.chat", "--ws", conn.workspace], config.env))
        proc = await ssh.create_process(cmd, stderr=None)
        worker = cls(proc, remote=True, host=host)
        worker._conn = conn  # closed with the worker
        return worker

    async def _expect_ready(self) -> None:
        try:
            line = await asyncio.wait_for(self._readline(), START_TIMEOUT_S)
        except TimeoutError:
            await self.close()
            raise ChatError(f"chat worker on {self.host} did not start within {START_TIMEOUT_S:.0f}s") from None
        event = _parse(line)
        if event.get("event") != "ready":
            await self.close()
            raise ChatError(f"chat worker on {self.host}: {event.get('message') or 'did not start (is Tailor installed there?)'}")

    # -- lines ----------------------------------------------------------------------------
    async def _readline(self) -> str:
        line = await self._proc.stdout.readline()
        return line.decode() if isinstance(line, bytes) else line

    async def _send(self, obj: dict[str, Any]) -> None:
        data = json.dumps(obj) + "\n"
        try:
            if self._remote:
                self._proc.stdin.write(data)
            else:
                self._proc.stdin.write(data.encode())
                await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionError, OSError) as exc:
            raise ChatError(f"chat worker on {self.host} is gone ({exc.__class__.__name__})") from None

    async def _events(self, obj: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async with self._lock:  # one request at a time per worker
            await self._send(obj)
            while True:
                line = await self._readline()
                if not line:
                    raise ChatError(f"chat worker on {self.host} ended unexpectedly")
                event = _parse(line)
                yield event
                if event.get("event") in TERMINAL:
                    return

    # -- requests -------------------------------------------------------------------------
    async def load(self, target: str, base_of: str | None = None) -> dict[str, Any]:
        """Load a model (unloading the previous one); returns the ``loaded`` event."""
        async for event in self._events({"op": "load", "target": target, "base_of": base_of}):
            if event.get("event") == "error":
                raise ChatError(str(event.get("message")))
            if event.get("event") == "loaded":
                return event
        raise ChatError("no answer to load")

    async def chat(self, messages: list[dict[str, str]], settings: ChatSettings) -> AsyncIterator[dict[str, Any]]:
        """``token`` events, then one ``done`` event (an ``error`` one raises ChatError)."""
        self._next_id += 1
        request = {"op": "chat", "id": self._next_id, "messages": messages, "settings": settings.to_json()}
        async for event in self._events(request):
            if event.get("event") == "error":
                raise ChatError(str(event.get("message")))
            yield event

    async def answer(self, messages: list[dict[str, str]], settings: ChatSettings) -> dict[str, Any]:
        """The whole answer at once (the ``done`` event)."""
        done: dict[str, Any] = {}
        async for event in self.chat(messages, settings):
            if event.get("event") == "done":
                done = event
        return done

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError, ChatError, OSError, AttributeError):  # a dead worker is closed too
            await asyncio.wait_for(self._quit(), 5.0)
        proc = self._proc
        if not self._remote and proc.returncode is None:
            proc.kill()
            await proc.wait()
        elif self._remote:
            proc.close()
        if self._conn is not None:
            await self._conn.close()

    async def _quit(self) -> None:
        if self._lock.locked():
            return  # a generation is streaming: just end the process
        await self._send({"op": "quit"})
        if self._remote:
            self._proc.stdin.write_eof()
        else:
            self._proc.stdin.close()
            await self._proc.wait()


def _parse(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        return {"event": "error", "message": f"unreadable answer from the chat worker: {line[:80]!r}"}
    return event if isinstance(event, dict) else {"event": "error", "message": "unreadable answer"}
