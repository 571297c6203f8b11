"""One side of a chat: a worker, the model it holds, and that side's conversation history.

Shared by ``tailor chat`` and the Playground so both send exactly the same messages (system prompt,
earlier turns of *this* side, the new prompt) and so give the same text for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tailor.engine.chat.protocol import ChatSettings, messages_for

if TYPE_CHECKING:
    from tailor.engine.chat.client import ChatWorker
    from tailor.engine.workspace import Workspace


@dataclass
class Side:
    target: str  # "base", a run, "model:NAME"
    base_of: str | None = None
    label: str = ""
    worker: ChatWorker | None = None
    history: list[dict[str, str]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # the last ``done`` event (text, latency)

    async def open(self, ws: Workspace, host: str | None = None) -> dict[str, Any]:
        """Start the worker (or reuse it) and load this side's model into it."""
        from tailor.engine.chat.client import ChatWorker

        if self.worker is None:
            self.worker = await ChatWorker.start(ws, host)
        loaded = await self.worker.load(self.target, self.base_of)
        self.label = str(loaded.get("label") or self.target)
        self.history.clear()
        return loaded

    async def ask(
        self, system: str, prompt: str, settings: ChatSettings, on_token: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Stream one answer; the turn joins this side's history when it completes."""
        assert self.worker is not None, "open() first"
        messages = messages_for(system, self.history, prompt)
        done: dict[str, Any] = {}
        async for event in self.worker.chat(messages, settings):
            if event.get("event") == "token" and on_token is not None:
                on_token(str(event.get("text", "")))
            elif event.get("event") == "done":
                done = event
        self.history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(done.get("text", ""))}]
        self.last = done
        return done

    def reset(self) -> None:
        self.history.clear()
        self.last = {}

    async def close(self) -> None:
        if self.worker is not None:
            worker, self.worker = self.worker, None
            await worker.close()


def latency_line(done: dict[str, Any]) -> str:
    """``1st token 0.05 s · 120 tok/s · 5 tok`` for a ``done`` event (fits a half-width pane at 80 columns)."""
    rate = done.get("tokens_per_s")
    rate_text = f"{rate:.0f} tok/s" if isinstance(rate, int | float) else "– tok/s"
    ttft = done.get("ttft_s")
    ttft_text = f"1st token {ttft:.2f} s" if isinstance(ttft, int | float) else "1st token –"
    return f"{ttft_text} · {rate_text} · {done.get('tokens', 0)} tok"


def pair_for(run: str, against: str | None) -> list[Side]:
    """The sides of ``tailor chat RUN --against X``: ``base`` means the base model of the other run."""
    if run == "base" and against in (None, "base"):
        raise ValueError("chat base needs --against RUN (whose base model to load) or model:NAME")
    first = Side(run, base_of=against if run == "base" else None)
    if against is None:
        return [first]
    return [first, Side(against, base_of=run if against == "base" else None)]
