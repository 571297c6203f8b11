"""Does the model's chat template render everything a row carries? Tools, tool calls and reasoning that
the template drops would train the model on an empty assistant turn, so such rows are refused.

The template is asked once per tokenizer: a probe conversation with unlikely names is rendered and we
look for the names in the text. Imports nothing heavy (the tokenizer is passed in).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from tailor.engine.data.records import Loc
from tailor.engine.errors import DataError

PROBE_TOOL, PROBE_CALL, PROBE_THINK = "probe_tool_q7x", "probe_call_z9k", "probe reasoning w3v"
FEATURES = {
    "tools": "the tool schemas ('tools')",
    "tool_calls": "tool calls",
    "reasoning_content": "reasoning parts",
}


def _messages(row: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in ("messages", "prompt", "completion", "chosen", "rejected"):
        value = row.get(key)
        if isinstance(value, list):
            out += [m for m in value if isinstance(m, dict)]
    return out


def needs(row: dict[str, Any]) -> list[str]:
    """The template features a converted row needs: tools, tool_calls, reasoning_content."""
    out = ["tools"] if row.get("tools") not in (None, "", "[]", []) else []
    msgs = _messages(row)
    if any(m.get("tool_calls") for m in msgs):
        out.append("tool_calls")
    if any(m.get("reasoning_content") for m in msgs):
        out.append("reasoning_content")
    return out


def support(tokenizer: Any) -> dict[str, bool]:
    """Which features the tokenizer's chat template renders (cached on the tokenizer)."""
    cached = getattr(tokenizer, "_tailor_template_support", None)
    if cached is not None:
        return cached
    tools = [
        {
            "type": "function",
            "function": {
                "name": PROBE_TOOL,
                "description": "probe",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    convo = [
        {"role": "user", "content": "u"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": PROBE_THINK,
            "tool_calls": [{"type": "function", "function": {"name": PROBE_CALL, "arguments": {"q": "x"}}}],
        },
        {"role": "tool", "content": "r"},
        {"role": "assistant", "content": "done"},
    ]
    try:
        text = tokenizer.apply_chat_template(convo, tools=tools, tokenize=False)
    except Exception:  # a template that raises on tools renders none of them
        text = ""
    found = {
        "tools": PROBE_TOOL in text,
        "tool_calls": PROBE_CALL in text,
        "reasoning_content": PROBE_THINK in text,
    }
    with contextlib.suppress(AttributeError):  # a tokenizer with __slots__ is probed each time
        tokenizer._tailor_template_support = found
    return found


def first_unrenderable(
    rows: Iterable[tuple[dict[str, Any], Loc]], tokenizer: Any
) -> tuple[str, Loc, int] | None:
    """(feature, first row needing it, rows needing it) for a feature the template drops, else None."""
    ok = support(tokenizer)
    first: dict[str, Loc] = {}
    counts: dict[str, int] = {}
    for row, loc in rows:
        for feature in needs(row):
            if not ok[feature]:
                first.setdefault(feature, loc)
                counts[feature] = counts.get(feature, 0) + 1
    if not first:
        return None
    feature = next(iter(first))
    return feature, first[feature], counts[feature]


def unrenderable_message(feature: str, loc: Loc, count: int, model: str) -> str:
    return (
        f"{loc}: the chat template of {model} does not render {FEATURES[feature]} ({count} rows need it), so "
        f"those turns would train as empty text; use a model whose template renders them (or set "
        f"model.chat_template), or remove them from the data"
    )


def refuse_unrenderable(rows: Iterable[tuple[dict[str, Any], Loc]], tokenizer: Any, model: str) -> None:
    """DataError naming the first row whose tools / tool calls / reasoning the template would drop."""
    hit = first_unrenderable(rows, tokenizer)
    if hit:
        raise DataError(unrenderable_message(*hit, model))


def refuse_unrenderable_dataset(ds: Any, tokenizer: Any, model: str) -> None:
    """``refuse_unrenderable`` over a built ``datasets.Dataset`` (rows named by their index)."""
    columns = set(getattr(ds, "column_names", []) or [])
    # messages stored as plain {role, content} structs cannot carry tool calls or reasoning: skip the scan
    rich = "tools" in columns or any("Json" in repr(f) for f in (getattr(ds, "features", None) or {}).values())
    if not rich:
        return
    refuse_unrenderable(((row, Loc("train", row=i + 1)) for i, row in enumerate(ds)), tokenizer, model)
