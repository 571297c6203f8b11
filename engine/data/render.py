"""Tokenize a converted row exactly as TRL's trainers do, and mark the tokens that are trained on.

Mirrors ``SFTTrainer._prepare_dataset`` and ``DPOTrainer._prepare_dataset`` (TRL 1.x): the same chat-template
calls, the same EOS handling for plain text, the completion starting where the tokenized prompt and
prompt+completion diverge. Imports transformers/trl lazily (call it from a worker thread).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rendered:
    """One training sequence: token ids, the trained-on mask (1 = in the loss), and text spans to show."""

    title: str
    ids: list[int]
    mask: list[int]
    spans: list[tuple[str, bool]] = field(default_factory=list)
    max_length: int | None = None

    @property
    def tokens(self) -> int:
        return len(self.ids)

    @property
    def trained(self) -> int:
        return sum(self.mask)

    @property
    def truncated(self) -> bool:
        return self.max_length is not None and self.tokens > self.max_length


def _tokenize(tok: Any, value: str | list, **kwargs: Any) -> dict[str, list]:
    if isinstance(value, list):
        return tok.apply_chat_template(value, tokenize=True, return_dict=True, **kwargs)
    return tok(text=value)


def _prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _tools(row: dict[str, Any]) -> Any:
    tools = row.get("tools")
    return json.loads(tools) if isinstance(tools, str) else tools


def sequences(
    row: dict[str, Any],
    tok: Any,
    *,
    assistant_only_loss: bool = False,
    completion_only_loss: bool | None = None,
    max_length: int | None = None,
    spans: bool = True,
) -> list[Rendered]:
    """The sequences a trainer builds from ``row`` (one for SFT/KTO, chosen and rejected for DPO)."""
    kw: dict[str, Any] = {"tools": _tools(row)}
    eos = tok.eos_token or ""
    out: list[tuple[str, list[int], list[int]]] = []
    if "chosen" in row:
        conv = isinstance(row["prompt"], list)
        prompt_ids = (
            _tokenize(tok, row["prompt"], add_generation_prompt=True, **kw)["input_ids"]
            if conv
            else _tokenize(tok, row["prompt"])["input_ids"]
        )
        full = {}
        for side in ("chosen", "rejected"):
            answer = row[side] if conv or row[side].endswith(eos) else row[side] + eos
            full[side] = _tokenize(tok, row["prompt"] + answer, **(kw if conv else {}))["input_ids"]
        n = min(_prefix(prompt_ids, full["chosen"]), _prefix(prompt_ids, full["rejected"]))
        for side in ("chosen", "rejected"):
            ids = full[side]
            out.append((side, ids, [0] * n + [1] * (len(ids) - n)))
    elif "completion" in row:
        conv = isinstance(row["prompt"], list)
        completion_only = True if completion_only_loss is None else completion_only_loss
        if conv:
            prompt_ids = _tokenize(tok, row["prompt"], add_generation_prompt=True, **kw)["input_ids"]
            done = _tokenize(
                tok, row["prompt"] + row["completion"], return_assistant_tokens_mask=assistant_only_loss, **kw
            )
        else:
            completion = row["completion"] if row["completion"].endswith(eos) else row["completion"] + eos
            prompt_ids = _tokenize(tok, row["prompt"])["input_ids"]
            done = _tokenize(tok, row["prompt"] + completion)
        _check_assistant_mask(done, assistant_only_loss)
        ids = done["input_ids"]
        n = _prefix(prompt_ids, ids)
        mask = [0] * n + [1] * (len(ids) - n) if completion_only else [1] * len(ids)
        if assistant_only_loss and "assistant_masks" in done:
            mask = [a & m for a, m in zip(done["assistant_masks"], mask, strict=False)]
        out.append(("completion" if "label" not in row else f"completion (label {row['label']})", ids, mask))
    elif "messages" in row:
        done = _tokenize(tok, row["messages"], return_assistant_tokens_mask=assistant_only_loss, **kw)
        _check_assistant_mask(done, assistant_only_loss)
        ids = done["input_ids"]
        mask = (
            list(done["assistant_masks"])
            if assistant_only_loss and "assistant_masks" in done
            else [1] * len(ids)
        )
        out.append(("conversation", ids, mask))
    else:
        text = row.get("text") or ""
        ids = _tokenize(tok, text if text.endswith(eos) else text + eos)["input_ids"]
        out.append(("text", ids, [1] * len(ids)))
    return [
        Rendered(title, ids, mask, _spans(tok, ids, mask) if spans else [], max_length)
        for title, ids, mask in out
    ]


def _check_assistant_mask(done: dict[str, Any], assistant_only_loss: bool) -> None:
    """TRL refuses to train a row in which assistant_only_loss finds no assistant token; so does the preview."""
    if assistant_only_loss and "assistant_masks" in done and not any(done["assistant_masks"]):
        from tailor.engine.data.turns import RowIssue

        raise RowIssue(
            "assistant_only_loss finds no assistant tokens: the chat template has no {% generation %} markers, so "
            "training would stop with TRL's error; add the markers to model.chat_template or turn assistant_only_loss off"
        )


def _spans(tok: Any, ids: list[int], mask: list[int]) -> list[tuple[str, bool]]:
    """Decoded runs of tokens with the same mask value, for highlighting."""
    out: list[tuple[str, bool]] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or mask[i] != mask[start]:
            out.append((tok.decode(ids[start:i], skip_special_tokens=False), bool(mask[start])))
            start = i
    return out


def token_lengths(row: dict[str, Any], tok: Any) -> int:
    """The longest sequence a row makes (what truncation applies to)."""
    return max(r.tokens for r in sequences(row, tok, spans=False))


def truncation_warning(rows: Any, tok: Any, max_length: int | None, *, sample: int = 200, share: float = 0.1) -> str | None:
    """A warning when ``max_length`` cuts at least ``share`` of the rows (the first ``sample`` rows are
    measured as the trainer tokenizes them), else None. Called by the trainers at launch."""
    if not max_length:
        return None
    n = min(len(rows), sample)
    lengths = [token_lengths(dict(rows[i]), tok) for i in range(n)]
    over = [t for t in lengths if t > max_length]
    if not n or len(over) / n < share:
        return None
    return (f"max_length {max_length} truncates {len(over) / n:.0%} of the rows ({len(over)} of the first {n}; "
            f"longest {max(over)} tokens): their ends, often the answer, are not trained on; raise "
            "train.max_length or drop the long rows (tailor data check shows them)")
