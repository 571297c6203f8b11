"""The engine thread: one background thread with its own asyncio loop, where every executor call runs.

The UI loop never runs engine code, so a slow disk, a recipe being validated or (later) an SSH round trip
can never freeze the screen. Engine modules are imported on this thread too, after the first paint.

    status = await app.bridge.run(some_coroutine())        # from any Textual (async) worker
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EngineBridge:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name="tailor-engine", daemon=True)
                self._thread.start()
        self._ready.wait()
        assert self._loop is not None
        return self._loop

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """Run ``coro`` on the engine loop; await the result from the UI loop (cancelling propagates)."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def call(self, fn: Callable[[], T]) -> Awaitable[T]:
        """Run a plain blocking function on the engine thread (its loop is paused meanwhile: keep it short)."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def close(self, timeout: float = 2.0) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None


def notifier(app: Any) -> Callable[[str], None]:
    """A thread-safe ``notice`` for ``follow_batched``: a warning notification in ``app``."""

    def notice(line: str) -> None:
        try:
            app.call_from_thread(app.notify, line, severity="warning", timeout=4)
        except RuntimeError:  # already on the app's thread
            app.notify(line, severity="warning", timeout=4)

    return notice


async def follow_batched(
    executor: Any,
    run_id: str,
    after: int,
    emit: Callable[[list[dict]], None],
    interval: float = 0.1,
    notice: Callable[[str], None] | None = None,
) -> None:
    """Follow a run on the engine loop, handing its events to ``emit`` in batches: a batch goes ``interval``
    s after its first event came (none wakes this while no event comes).

    ``emit`` is called on the engine thread (use a thread-safe sink such as ``post_message``). Returns
    when the run is over and its last events were emitted; errors of the follow propagate. ``notice``
    (thread-safe too) gets a remote executor's "connection lost; reconnecting ..." lines.
    """
    if notice is not None and hasattr(executor, "on_notice"):
        executor.on_notice = notice
    loop = asyncio.get_running_loop()
    buffer: list[dict] = []
    armed: list[asyncio.TimerHandle] = []  # the batch's timer, armed by its first event: nothing wakes while none come

    def flush() -> None:
        armed.clear()
        if buffer:
            batch = buffer[:]
            buffer.clear()
            emit(batch)

    try:
        async for event in executor.follow(run_id, after):
            buffer.append(event)
            if not armed:
                armed.append(loop.call_later(interval, flush))
    except asyncio.CancelledError:
        buffer.clear()  # cancelled: nobody waits for the rest
        raise
    finally:
        for handle in armed:
            handle.cancel()
        flush()  # the last events, also when the follow failed (its error propagates)
