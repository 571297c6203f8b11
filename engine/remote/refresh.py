"""``tailor runs`` shows remote runs as their hosts see them now, not as last mirrored.

The local listing reads mirrors (engine/remote/mirror.py), which are only as fresh as the last follow.
Hosts with an active (queued/running) mirrored run are asked for their runs, all at once and with a
short timeout; an unreachable host leaves its runs at the last known state, marked ``stale`` so no
one mistakes it for a live one.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from tailor.engine.errors import TailorError, one_line

if TYPE_CHECKING:
    from tailor.engine.runs.status import Status
    from tailor.engine.workspace import Workspace

REFRESH_TIMEOUT_S = 8.0


async def refresh_remote(ws: Workspace, statuses: list[Status], timeout: float = REFRESH_TIMEOUT_S) -> list[Status]:
    """``statuses`` with the mirrored active runs replaced by their hosts' answers (or marked stale)."""
    hosts = sorted({s.via for s in statuses if s.via != "local" and s.state.active})
    if not hosts:
        return statuses
    answers = dict(await asyncio.gather(*(_ask(ws, h, timeout) for h in hosts)))
    out = []
    for s in statuses:
        answer = answers.get(s.via)
        if s.via not in answers:
            out.append(s)
        elif isinstance(answer, str):
            out.append(s.model_copy(update={"stale": answer}) if s.state.active else s)
        elif answer is not None:
            out.append(answer.get(s.run_id, s))
    return out


async def _ask(ws: Workspace, host: str, timeout: float) -> tuple[str, dict[str, Status] | str]:
    from tailor.engine.executors.factory import executor_for

    try:
        executor = executor_for(ws, host)
    except TailorError as exc:
        return host, one_line(exc)
    try:
        fresh = await asyncio.wait_for(executor.list_runs(), timeout)
        return host, {s.run_id: s for s in fresh}
    except TimeoutError:
        return host, f"{host} did not answer within {timeout:.0f}s"
    except (TailorError, OSError) as exc:
        return host, one_line(exc)
    finally:
        with contextlib.suppress(Exception):
            await executor.close()
