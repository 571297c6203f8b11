"""Held-out examples and the prompts a model sees: rendered exactly as the trainers render them.

An :class:`Example` comes from a row in one of TRL's standard formats (conversational or plain
prompt-completion, ``messages``, or prompt/chosen/rejected). Conversational prompts go through the
tokenizer's chat template with ``add_generation_prompt=True`` and the reference completion is the rest of
the rendered conversation (end-of-turn token included), as TRL's SFTTrainer tokenises them; plain prompts
are used as they are and the completion ends with the EOS token.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Any

from tailor.engine.data.masks import Unsplittable, assistant_spans

Messages = list[dict[str, Any]]


@dataclass
class Example:
    prompt: str | Messages
    reference: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    tools: str | None = None

    @property
    def conversational(self) -> bool:
        return isinstance(self.prompt, list)

    @property
    def prompt_display(self) -> str:
        """The prompt as a person reads it: the last user turn (earlier turns elided), or the text."""
        if isinstance(self.prompt, str):
            return self.prompt
        users = [m for m in self.prompt if m.get("role") == "user"]
        last = users[-1] if users else (self.prompt[-1] if self.prompt else {"content": ""})
        head = "… " if len(self.prompt) > 1 and any(m is not last and m.get("role") != "system" for m in self.prompt) else ""
        return head + _content(last)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal-style parts: keep the text parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _answer_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_content(m) for m in value if m.get("role") == "assistant") or "".join(_content(m) for m in value)
    return str(value)


def example_from_row(row: dict[str, Any]) -> Example | None:
    """A TRL standard-format row -> Example; None for rows with nothing to evaluate against (plain text)."""
    tools = row.get("tools") if isinstance(row.get("tools"), str) else None
    if "chosen" in row and "rejected" in row:
        return Example(row["prompt"], _answer_text(row["chosen"]), _answer_text(row["chosen"]), _answer_text(row["rejected"]), tools)
    if "messages" in row:
        msgs = row["messages"]
        for i in range(len(msgs) - 1, -1, -1):
            if msgs[i].get("role") == "assistant":
                return Example(msgs[:i], _content(msgs[i]), tools=tools)
        return None
    if "prompt" in row and "completion" in row:
        return Example(row["prompt"], _answer_text(row["completion"]), tools=tools)
    return None


# -- few-shot ------------------------------------------------------------------------------------


def draw_shots(pool: list[Example], k: int, seed: int, n_examples: int) -> list[list[Example]]:
    """``k`` shots per held-out example, drawn without replacement from ``pool`` with a fixed seed.

    Each example gets its own draw (seeded by the example index), so results do not depend on the
    batch order and a different ``seed`` gives a different, reproducible set.
    """
    usable = [e for e in pool if e.reference is not None]
    if k <= 0 or not usable:
        return [[] for _ in range(n_examples)]
    k = min(k, len(usable))
    return [random.Random(f"{seed}-{i}").sample(usable, k) for i in range(n_examples)]


# -- rendering -----------------------------------------------------------------------------------


def _chat_messages(example: Example, shots: list[Example]) -> Messages:
    assert isinstance(example.prompt, list)
    system = [m for m in example.prompt if m.get("role") == "system"]
    turns: Messages = list(system)
    for shot in shots:
        shot_turns = shot.prompt if isinstance(shot.prompt, list) else [{"role": "user", "content": shot.prompt}]
        turns += [m for m in shot_turns if m.get("role") != "system"]
        turns.append({"role": "assistant", "content": shot.reference or ""})
    turns += [m for m in example.prompt if m.get("role") != "system"]
    return turns


def _template(tokenizer: Any, messages: Messages, tools: str | None, *, generation_prompt: bool) -> str:
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": generation_prompt}
    if tools:
        import json

        kwargs["tools"] = json.loads(tools)
    return tokenizer.apply_chat_template(messages, **kwargs)


def render_prompt(tokenizer: Any, example: Example, shots: list[Example] | None = None) -> str:
    """The text the model continues from: few-shot turns first, then the example's prompt."""
    shots = shots or []
    if example.conversational:
        return _template(tokenizer, _chat_messages(example, shots), example.tools, generation_prompt=True)
    head = "".join(f"{_plain(s.prompt)}{s.reference}\n\n" for s in shots)
    return head + str(example.prompt)


def _plain(prompt: str | Messages) -> str:
    return prompt if isinstance(prompt, str) else "\n".join(_content(m) for m in prompt)


def render_completion(tokenizer: Any, example: Example, prompt_text: str, answer: str, shots: list[Example] | None = None) -> str:
    """The completion text of ``answer`` after ``prompt_text``, as the trainer tokenises it."""
    if example.conversational:
        messages = [*_chat_messages(example, shots or []), {"role": "assistant", "content": answer}]
        full = _template(tokenizer, messages, example.tools, generation_prompt=False)
        if full.startswith(prompt_text):
            # Score exactly what SFT trains (engine/data/masks.py): the answer and its end-of-turn marker, not
            # the line break a template writes after the marker, which the trained model never learns.
            with contextlib.suppress(Unsplittable, ValueError):
                ((_start, end),) = assistant_spans(
                    messages,
                    lambda msgs, prompt: _template(tokenizer, msgs, example.tools, generation_prompt=prompt),
                    [len(messages) - 1],
                )
                return full[len(prompt_text) : end]
            return full[len(prompt_text) :]
        return answer + (tokenizer.eos_token or "")  # a template that re-renders earlier turns differently
    return answer + (tokenizer.eos_token or "")
