"""The chat worker's line protocol (stdlib only: shared by the worker, the client and the tests).

Requests (one JSON object per line on the worker's stdin)::

    {"op": "load", "target": "base" | RUN | "model:NAME", "base_of": RUN | null}
    {"op": "chat", "id": N, "messages": [{"role": ..., "content": ...}], "settings": {...}}
    {"op": "quit"}

Answers (one JSON object per line on stdout)::

    {"event": "loaded", "label": ..., "model": ..., "seconds": ...}
    {"event": "token", "id": N, "text": "..."}                         (one per generated token)
    {"event": "done", "id": N, "text": ..., "tokens": ..., "ttft_s": ..., "tokens_per_s": ...}
    {"event": "error", "message": "one line"}                          (the worker stays up)

``ttft_s`` is the time from the request to the first generated token (prompt processing included);
``tokens_per_s`` is the decoding rate after that first token, (tokens - 1) / (end - first token).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

TERMINAL = ("loaded", "done", "error", "bye")


@dataclass
class ChatSettings:
    """Generation settings of one answer; ``temperature`` 0 means greedy (then ``seed`` is irrelevant)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatSettings:
        out = cls()
        for key in ("temperature", "top_p"):
            if key in data:
                setattr(out, key, float(data[key]))
        for key in ("max_new_tokens", "seed"):
            if key in data:
                setattr(out, key, int(data[key]))
        out.check()
        return out

    def check(self) -> None:
        """Raise ValueError naming the bad field."""
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0: greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if not 1 <= self.max_new_tokens <= 8192:
            raise ValueError("max_new_tokens must be between 1 and 8192")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")

    def describe(self) -> str:
        mode = "greedy" if self.temperature == 0 else f"T={self.temperature:g} top_p={self.top_p:g} seed={self.seed}"
        return f"{mode} · max {self.max_new_tokens} tokens"


def messages_for(system: str, history: list[dict[str, str]], prompt: str) -> list[dict[str, str]]:
    """The conversation a model sees: the system prompt (if any), earlier turns, the new user turn."""
    head = [{"role": "system", "content": system}] if system.strip() else []
    return [*head, *history, {"role": "user", "content": prompt}]
