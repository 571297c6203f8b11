"""Checks on converted (TRL-format) rows that must pass before training starts.

Shared by the SFT and DPO/KTO trainers: ``check_row`` says what is wrong with one row, ``check_rows`` collects
the problems of a whole dataset with file and line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tailor.engine.data.records import Loc, Problem
from tailor.engine.data.turns import is_blank


def _conversational(value: Any) -> bool:
    return isinstance(value, list)


def check_row(row: dict[str, Any], task: str) -> str | None:
    """What is wrong with one converted row for ``task``, or None."""
    if task == "sft":
        if "messages" in row:
            msgs = row["messages"]
            if not msgs:
                return "the conversation is empty"
            assistant = [m for m in msgs if m.get("role") == "assistant"]
            if not assistant:
                return "the conversation has no assistant turn to learn from"
            if is_blank([assistant[-1]]):
                return "the last assistant turn is empty"
            return None
        if "completion" in row:
            if is_blank(row.get("prompt")):
                return "the prompt is empty"
            if is_blank(row["completion"]):
                return "the completion is empty"
            return None
        if is_blank(row.get("text")):
            return "the text is empty"
        return None
    if task == "preference":
        if is_blank(row.get("prompt")):
            return "the prompt is empty"
        if is_blank(row.get("chosen")):
            return "'chosen' is missing or empty"
        if is_blank(row.get("rejected")):
            return "'rejected' is missing or empty"
        if row["chosen"] == row["rejected"]:
            return "chosen equals rejected (nothing to learn from this pair)"
        if _conversational(row["chosen"]) != _conversational(row["rejected"]):
            return "chosen and rejected must both be text or both be messages"
        return None
    if task == "unpaired_preference":
        if is_blank(row.get("prompt")):
            return "the prompt is empty"
        if is_blank(row.get("completion")):
            return "the completion is empty"
        if not isinstance(row.get("label"), bool):
            return f"label must be true or false, got {row.get('label')!r}"
        return None
    raise ValueError(f"unknown task {task!r}")


def check_rows(rows: Iterable[tuple[dict[str, Any], Loc]], task: str) -> list[Problem]:
    """Problems of every row, in order, each with its file and line."""
    problems = []
    for row, loc in rows:
        message = check_row(row, task)
        if message:
            problems.append(Problem(loc, message, kind="invalid"))
    return problems


def shape(row: dict[str, Any]) -> str:
    """The TRL shape of a converted row, for checking that mixed sources fit together."""
    if "messages" in row:
        return "messages"
    if "text" in row and "prompt" not in row:
        return "text"
    conv = _conversational(row.get("prompt"))
    if "chosen" in row:
        return "preference (conversational)" if conv else "preference (text)"
    if "label" in row:
        return "unpaired (conversational)" if conv else "unpaired (text)"
    return "prompt-completion (conversational)" if conv else "prompt-completion (text)"
