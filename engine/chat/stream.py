"""Token-by-token generation for the chat worker (worker side: imports torch and transformers).

transformers' ``TextIteratorStreamer`` holds text back until a word ends, which would make a one-word
answer arrive all at once; this streamer emits every token as soon as it decodes to complete characters.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tailor.engine.chat.protocol import ChatSettings

_END = object()


def render_chat(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, bool]:
    """(prompt text, add_special_tokens): the chat template as in training, or plain text without one."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text, False  # the template writes its own special tokens (as the trainers tokenise it)
    # no template (a plain-text model): the turns one per line, as "text" rows are trained
    return "\n".join(m["content"] for m in messages if m["role"] != "system" or m["content"]) + "\n", True


class _TokenStreamer:
    """A transformers streamer: the first ``put`` is the prompt (skipped); then one token per ``put``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.sent = ""
        self.queue: queue.Queue[Any] = queue.Queue()
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the next token
            self.queue.put(("", len(self.ids)))
            return
        new, self.sent = text[len(self.sent):], text
        self.queue.put((new, len(self.ids)))

    def end(self) -> None:
        self.queue.put(_END)


def stream_answer(
    model: Any,
    tokenizer: Any,
    messages: list[dict[str, str]],
    settings: ChatSettings,
    emit: Callable[[str], None],
) -> dict[str, Any]:
    """Generate an answer, calling ``emit(text)`` per token; returns the ``done`` fields."""
    import torch

    start = time.perf_counter()
    prompt, special = render_chat(tokenizer, messages)
    device = next(model.parameters()).device
    batch = tokenizer(prompt, return_tensors="pt", add_special_tokens=special).to(device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "pad_token_id": pad_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if settings.temperature > 0:
        kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p, top_k=0)
    else:  # greedy; silence the model's own sampling defaults
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    streamer = _TokenStreamer(tokenizer)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            torch.manual_seed(settings.seed)  # the same seed and history give the same answer
            with torch.inference_mode():
                model.generate(**batch, streamer=streamer, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
            streamer.end()

    thread = threading.Thread(target=run, name="chat-generate", daemon=True)
    thread.start()
    first: float | None = None
    tokens = 0
    for item in _drain(streamer):
        text, tokens = item
        if first is None:
            first = time.perf_counter()
        if text:
            emit(text)
    thread.join()
    if failure:
        raise failure[0]
    end = time.perf_counter()
    ttft = (first or end) - start
    rate = (tokens - 1) / (end - first) if first is not None and tokens > 1 and end > first else None
    return {
        "text": streamer.sent.strip(),
        "tokens": tokens,
        "ttft_s": round(ttft, 4),
        "tokens_per_s": None if rate is None else round(rate, 2),
        "seconds": round(end - start, 4),
    }


def _drain(streamer: _TokenStreamer) -> Iterator[tuple[str, int]]:
    while True:
        item = streamer.queue.get()
        if item is _END:
            return
        yield item
