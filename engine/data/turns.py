"""Chat turns: ShareGPT (from/value, tool turns) to role/content messages, and checks on message lists."""

from __future__ import annotations

import contextlib
import json
from typing import Any

# ShareGPT speaker tags (LLaMA-Factory, FastChat, Glaive...) -> chat roles.
ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function_response": "tool",
    "ipython": "tool",
}
TOOL_CALL_TAGS = {"function_call", "tool_call", "tool_calls"}
VALID_ROLES = {"system", "user", "assistant", "tool", "developer"}


MEDIA_PARTS = {
    "image": "images",
    "image_url": "images",
    "input_image": "images",
    "audio": "audios",
    "input_audio": "audios",
    "audio_url": "audios",
    "video": "videos",
    "video_url": "videos",
    "file": "files",
    "input_file": "files",
}
MEDIA_COLUMNS = {
    "images": "images",
    "image": "images",
    "audios": "audios",
    "audio": "audios",
    "videos": "videos",
    "video": "videos",
}
TEXT_PARTS = {"text", "input_text", "output_text"}
REASONING_PARTS = {"reasoning", "thinking"}
WEIGHT_KEYS = ("weight", "loss_weight")


class RowIssue(ValueError):
    """A problem with one row; the caller adds the file and line."""


class MultimodalRow(RowIssue):
    """A row carrying images, audio or video: refused as a whole dataset, never trained as text."""

    def __init__(self, media: str) -> None:
        super().__init__(f"this row has {media}")
        self.media = media


def is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) for m in value)


def is_sharegpt(value: Any) -> bool:
    return is_message_list(value) and "from" in value[0] and "value" in value[0]


def is_chatml(value: Any) -> bool:
    return is_message_list(value) and "role" in value[0]


def tool_calls(value: Any, where: str) -> list[dict[str, Any]]:
    """A ShareGPT ``function_call`` turn (JSON text: one call or a list) -> OpenAI-style ``tool_calls``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowIssue(f"{where}: the function call is not valid JSON ({exc.msg})") from None
    calls = value if isinstance(value, list) else [value]
    out = []
    for call in calls:
        if not isinstance(call, dict) or "name" not in call:
            raise RowIssue(f"{where}: a function call needs a 'name' and 'arguments'")
        args = call.get("arguments", {})
        if isinstance(args, str):
            with contextlib.suppress(json.JSONDecodeError):  # else keep the text; templates render it as is
                args = json.loads(args)
        out.append({"type": "function", "function": {"name": call["name"], "arguments": args}})
    return out


def openai_calls(calls: Any, where: str) -> list[Any]:
    """OpenAI ``tool_calls`` with each ``function.arguments`` JSON string parsed to an object: templates that
    write ``arguments | tojson`` would otherwise train the JSON double-encoded."""
    if not isinstance(calls, list):
        raise RowIssue(f"{where}: 'tool_calls' must be a list, got {type_name(calls)}")
    out = []
    for j, call in enumerate(calls, 1):
        fn = call.get("function") if isinstance(call, dict) else None
        args = fn.get("arguments") if isinstance(fn, dict) else None
        if isinstance(fn, dict) and isinstance(args, str):
            try:
                parsed = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                raise RowIssue(
                    f"{where}: tool call {j} ({fn.get('name', '?')}): 'arguments' is not valid JSON ({exc.msg}); "
                    "fix the JSON text or give the arguments as an object"
                ) from None
            call = {**call, "function": {**fn, "arguments": parsed}}
        out.append(call)
    return out


def from_sharegpt(turns: Any, field: str = "conversations") -> list[dict[str, Any]]:
    """ShareGPT turns -> role/content messages; tool calls and observations become tool_calls / tool turns."""
    if isinstance(turns, dict):
        turns = [turns]
    if not isinstance(turns, list):
        raise RowIssue(f"field '{field}' must be a list of turns, got {type_name(turns)}")
    out: list[dict[str, Any]] = []
    for i, turn in enumerate(turns, 1):
        where = f"{field} turn {i}"
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise RowIssue(f"{where}: expected an object with 'from' and 'value'")
        tag = str(turn["from"]).lower()
        value = turn["value"]
        if tag in TOOL_CALL_TAGS:
            out.append({"role": "assistant", "content": "", "tool_calls": tool_calls(value, where)})
            continue
        role = ROLES.get(tag)
        if role is None:
            raise RowIssue(
                f"{where}: unknown speaker '{turn['from']}' (use human, gpt, system, function_call or observation)"
            )
        if not isinstance(value, str):
            raise RowIssue(f"{where}: 'value' must be a string, got {type_name(value)}")
        out.append({"role": role, "content": value})
    return out


def from_chatml(messages: Any, field: str = "messages") -> list[dict[str, Any]]:
    """Check role/content messages and return clean copies (tools given as lists are kept)."""
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        raise RowIssue(f"field '{field}' must be a list of messages, got {type_name(messages)}")
    if messages and isinstance(messages[0], dict) and "from" in messages[0]:
        return from_sharegpt(messages, field)
    out = []
    for i, msg in enumerate(messages, 1):
        where = f"{field} message {i}"
        if not isinstance(msg, dict) or "role" not in msg:
            raise RowIssue(f"{where}: expected an object with 'role' and 'content'")
        role = msg["role"]
        if role not in VALID_ROLES:
            mapped = ROLES.get(str(role).lower())
            if mapped is None:
                raise RowIssue(f"{where}: unknown role '{role}' (use system, user, assistant or tool)")
            role = mapped
        content = msg.get("content")
        # per-turn training weights are read by formats.weights(); templates never see them
        clean = {k: v for k, v in msg.items() if v is not None and k not in WEIGHT_KEYS}
        clean["role"] = role
        if msg.get("tool_calls"):
            clean["tool_calls"] = openai_calls(msg["tool_calls"], where)
        if isinstance(content, list):
            given = list(clean.get("tool_calls") or [])
            clean.update(content_parts(content, where))
            if given:
                clean["tool_calls"] = given + clean.get("tool_calls", [])
        elif content is None and msg.get("tool_calls"):
            clean["content"] = ""
        elif not isinstance(content, str):
            raise RowIssue(
                f"{where}: 'content' must be a string or a list of parts, got {type_name(content)}"
            )
        out.append(clean)
    return out


def content_parts(parts: list[Any], where: str) -> dict[str, Any]:
    """A content-part list (OpenAI ``{type: text, text}``, LLaMA-Factory v1 ``{type: text, value}``) ->
    ``content`` (text parts joined in order), ``reasoning_content`` and ``tool_calls``.

    Image/audio/video parts raise MultimodalRow: dropping them would train on text that refers to
    media the model never sees.
    """
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, part in enumerate(parts, 1):
        if isinstance(part, str):
            text.append(part)
            continue
        if not isinstance(part, dict) or "type" not in part:
            raise RowIssue(f"{where} part {j}: expected an object with 'type' (text, reasoning or tool_call)")
        kind = str(part["type"])
        if kind in MEDIA_PARTS:
            raise MultimodalRow(MEDIA_PARTS[kind])
        value = part.get("text", part.get("value", part.get(kind)))
        if kind in ("tool_call", "function_call"):
            calls += tool_calls(value, f"{where} part {j}")
            continue
        if not isinstance(value, str):
            raise RowIssue(f"{where} part {j}: a {kind} part needs 'text' or 'value' as a string")
        if kind in TEXT_PARTS:
            text.append(value)
        elif kind in REASONING_PARTS:
            reasoning.append(value)
        else:
            raise RowIssue(f"{where} part {j}: unknown part type '{kind}' (text, reasoning or tool_call)")
    out: dict[str, Any] = {"content": "".join(text)}
    if reasoning:
        out["reasoning_content"] = "\n".join(reasoning)
    if calls:
        out["tool_calls"] = calls
    return out


def with_system(messages: list[dict[str, Any]], system: str | None) -> list[dict[str, Any]]:
    if system and not (messages and messages[0].get("role") == "system"):
        return [{"role": "system", "content": system}, *messages]
    return messages


def split_last_assistant(messages: list[dict[str, Any]], field: str) -> tuple[list[dict], list[dict]]:
    """prompt = every turn before the last assistant turn, completion = that turn."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "assistant":
            return messages[:i], messages[i:]
    raise RowIssue(f"field '{field}' has no assistant turn")


def common_prefix(a: list[dict], b: list[dict]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def tools_text(value: Any) -> str | None:
    """A ``tools`` column as JSON text (TRL parses strings), or None when empty."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowIssue(f"field 'tools' is not valid JSON ({exc.msg})") from None
        if not isinstance(parsed, list | dict):
            raise RowIssue("field 'tools' must be a JSON list of function schemas")
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    raise RowIssue(f"field 'tools' must be JSON text or a list, got {type_name(value)}")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def is_blank(value: Any) -> bool:
    """Empty text, an empty list, or a list of turns whose every content is empty (and calls no tool)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        # only turns can be blank: a list of other objects (tool schemas) has content of its own
        return not value or all(
            isinstance(m, dict)
            and bool(m.keys() & {"role", "from", "content", "value"})
            and not str(m.get("content", m.get("value")) or "").strip()
            and not m.get("tool_calls")
            for m in value
        )
    return False


def media_of(row: dict[str, Any]) -> str | None:
    """'images' / 'audios' / 'videos' when the row carries media in a column, else None."""
    for col, media in MEDIA_COLUMNS.items():
        value = row.get(col)
        if value not in (None, "", [], {}):
            return media
    return None
