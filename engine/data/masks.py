"""Which characters of a rendered conversation are the assistant's, for ANY chat template.

TRL marks assistant tokens only through ``{% generation %}`` markers, which few real templates carry; without
them every token of a multi-turn conversation would be trained. Axolotl and LLaMA-Factory avoid that by
rendering turn by turn, and so does this module: for each trained assistant turn ``i`` the conversation is
rendered up to the turn with the generation prompt (``messages[:i]``, where the answer starts) and through
the turn (``messages[:i+1]``, where it ends). When each rendering is a string prefix of the next and of the
whole conversation, the turn is the character span between the two, exactly as the template writes it
(its text plus its end-of-turn marker). A template that rewrites earlier turns once later ones follow
(drops their reasoning, reorders, merges) breaks the prefix property: such a conversation is refused with
the reason, never trained on a guess. Imports nothing heavy: ``render`` is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

Render = Callable[[list[dict[str, Any]], bool], str]  # (messages, add_generation_prompt) -> text


class Unsplittable(ValueError):
    """The chat template does not render this conversation turn by turn (the message says why; ``why`` is
    the short reason: rewrites earlier turns, generation prompt differs, raises, renders nothing...)."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


def _turn(i: int, msg: dict[str, Any]) -> str:
    return f"turn {i + 1} ({msg.get('role', '?')})"


def assistant_spans(messages: list[dict[str, Any]], render: Render, trained: Iterable[int]) -> list[tuple[int, int]]:
    """Character spans, in ``render(messages, False)``, of the assistant turns at the indices ``trained``.

    Each span runs from where the generation prompt ends to the end of the turn's rendering, without
    whitespace the template writes after an end-of-turn marker (the model stops at the marker, so a line
    break after it is never generated). Raises Unsplittable when the template cannot be split there.
    """
    full = _render(render, messages, False, "the whole conversation")
    spans = []
    for i in sorted(set(trained)):
        msg = messages[i]
        if msg.get("role") != "assistant":
            raise ValueError(f"{_turn(i, msg)} is not an assistant turn")
        if i == 0:
            raise Unsplittable(f"{_turn(i, msg)}: a conversation cannot start with the assistant's answer", "starts with the answer")
        before = _render(render, messages[:i], True, f"the conversation before {_turn(i, msg)}")
        through = _render(render, messages[: i + 1], False, f"the conversation through {_turn(i, msg)}")
        start = len(before)
        if not through.startswith(before):
            # Some generation prompts open an empty thinking block the finished turn does not carry
            # ("<think>\n"): the answer then starts where the two part, as long as that is past the
            # conversation before the turn, rendered as it is, and right at the answer's own text.
            prompt = _render(render, messages[:i], False, f"the conversation before {_turn(i, msg)}")
            start = _common(before, through)
            first = next((msg[k].strip() for k in ("reasoning_content", "content") if str(msg.get(k) or "").strip()), None)
            if not through.startswith(prompt) or start < len(prompt) or not (
                first and through[start:].lstrip().startswith(first)
            ):
                raise Unsplittable(
                    f"{_turn(i, msg)}: the template writes the conversation before the assistant's turn "
                    "differently once the turn is added, so the answer cannot be told from the prompt",
                    "generation prompt differs",
                )
        if not full.startswith(through):
            raise Unsplittable(
                f"{_turn(i, msg)}: the template rewrites this turn once later turns follow (it drops or moves "
                "text of earlier turns, such as their reasoning), so the trained text would not be what the "
                "conversation shows",
                "rewrites earlier turns",
            )
        end = _end(through, start, msg)
        if end <= start:
            raise Unsplittable(f"{_turn(i, msg)}: the template renders nothing for this assistant turn", "renders nothing")
        content = msg.get("content")
        bare = content.strip() if isinstance(content, str) and not msg.get("tool_calls") else ""
        if bare and through[start:end].rstrip().endswith(bare) and end == len(through.rstrip()):
            raise Unsplittable(
                f"{_turn(i, msg)}: the template writes no end-of-turn marker after the assistant's text, so "
                "the model would never learn to stop",
                "no end-of-turn marker",
            )
        spans.append((start, end))
    return spans


def _common(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _render(render: Render, messages: list[dict[str, Any]], prompt: bool, what: str) -> str:
    try:
        return render(messages, prompt)
    except Unsplittable:
        raise
    except Exception as exc:  # the template raises on a prefix (e.g. it insists on a final user turn)
        text = " ".join(str(exc).split())[:160]
        raise Unsplittable(f"the template fails on {what}: {text}", f"raises: {text[:60]}") from None


def _end(through: str, start: int, msg: dict[str, Any]) -> int:
    """Where the turn ends: trailing whitespace is dropped only after an end-of-turn marker, never when the
    whitespace is itself the only separator after the text (plain "User: ... Assistant: ..." templates)."""
    text = through[start:]
    kept = text.rstrip()
    content = msg.get("content")
    tail = kept.endswith(content.rstrip()) if isinstance(content, str) and content.strip() else False
    return start + (len(text) if tail or not kept else len(kept))


def char_mask_to_tokens(offsets: Sequence[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    """1 for each token that overlaps a span, as transformers marks ``{% generation %}`` spans: a token that
    straddles the start of an answer ("Assistant: " + "Hi" tokenized as " Hi") is trained, so the answer's
    first word is never lost."""
    mask = [0] * len(offsets)
    k = 0
    for t, (start, end) in enumerate(offsets):
        while k < len(spans) and start >= spans[k][1]:
            k += 1
        if k == len(spans):
            break
        if end > spans[k][0]:
            mask[t] = 1
    return mask
