"""Detect a dataset's format from its columns and convert rows to TRL's standard formats.

Source formats (``DataSource.format``): alpaca, sharegpt, messages, prompt_completion, text, preference,
unpaired_preference. Targets by task:

- ``sft``: ``messages`` (+ ``tools``), ``prompt``/``completion`` (strings or conversational), or ``text``
- ``preference``: ``prompt``/``chosen``/``rejected`` (explicit prompt, strings or conversational)
- ``unpaired_preference``: ``prompt``/``completion``/``label`` (a pair becomes two rows)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from tailor.engine.data.turns import (
    WEIGHT_KEYS,
    MultimodalRow,
    RowIssue,
    common_prefix,
    from_chatml,
    from_sharegpt,
    is_blank,
    is_chatml,
    is_sharegpt,
    media_of,
    split_last_assistant,
    tools_text,
    type_name,
    with_system,
)

Task = Literal["sft", "preference", "unpaired_preference"]
FORMATS = ("alpaca", "sharegpt", "messages", "prompt_completion", "text", "preference", "unpaired_preference")
CHAT_FIELDS = ("messages", "conversations", "conversation", "chat", "dialog")
LABEL_FIELDS = ("label", "kto_tag")
# v1 LLaMA-Factory preference files name the two conversations chosen_messages / rejected_messages
PAIR_ALIASES = {"chosen": "chosen_messages", "rejected": "rejected_messages"}
# Where an implicit-prompt dialogue hands over to the assistant (hh-rlhf, ChatML text, Llama-2, Alpaca text)
ASSISTANT_MARKERS = ("\n\nAssistant:", "<|im_start|>assistant\n", "[/INST]", "### Response:\n")
DESCRIPTIONS = {
    "alpaca": "alpaca (instruction/input/output)",
    "sharegpt": "ShareGPT (conversations with from/value)",
    "messages": "chat messages (role/content)",
    "prompt_completion": "prompt-completion",
    "text": "plain text",
    "preference": "preference (prompt/chosen/rejected)",
    "unpaired_preference": "unpaired preference (prompt/completion/label)",
}
TASK_FORMATS: dict[str, set[str]] = {
    "sft": {"alpaca", "sharegpt", "messages", "prompt_completion", "text"},
    "preference": {"preference"},
    "unpaired_preference": {"unpaired_preference", "preference"},
}


def chat_field(row: dict[str, Any]) -> str | None:
    return next((f for f in CHAT_FIELDS if isinstance(row.get(f), list)), None)


def detect(rows: Iterable[dict[str, Any]]) -> str | None:
    """The source format of some sample rows, or None when the columns fit no known format."""
    rows = [r for r in rows if isinstance(r, dict)]
    if not rows:
        return None
    cols: set[str] = set().union(*(r.keys() for r in rows))
    row = next((r for r in rows if chat_field(r)), rows[0])
    if {"chosen", "rejected"} <= cols or set(PAIR_ALIASES.values()) <= cols:
        return "preference"
    if cols & set(LABEL_FIELDS) and (
        {"prompt", "completion"} <= cols or chat_field(row) or "instruction" in cols
    ):
        return "unpaired_preference"
    if "instruction" in cols and ("output" in cols or "response" in cols):
        return "alpaca"
    field = chat_field(row)
    if field:
        return "sharegpt" if is_sharegpt(row[field]) else "messages"
    if {"prompt", "completion"} <= cols:
        return "prompt_completion"
    if "text" in cols:
        return "text"
    return None


def describe_columns(rows: list[dict[str, Any]]) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    return ", ".join(cols[:12]) or "none"


def apply_columns(row: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    """Rename source columns to canonical names (``DataSource.columns`` maps canonical -> source)."""
    if not columns:
        return row
    row = dict(row)
    for canonical, source in columns.items():
        if source not in row:
            raise RowIssue(f"missing column '{source}' (mapped to '{canonical}' in columns:)")
        row[canonical] = row.pop(source)
    return row


def _text(row: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = row.get(name)
    if value is None:
        if required:
            raise RowIssue(f"missing field '{name}'")
        return ""
    if not isinstance(value, str):
        raise RowIssue(f"field '{name}' must be a string, got {type_name(value)}")
    if required and not value.strip():
        raise RowIssue(f"field '{name}' is empty")
    return value


def _alpaca_prompt(row: dict[str, Any], system: str | None) -> list[dict[str, Any]]:
    """system + history pairs + the instruction (with its input on the next line), as chat turns."""
    instruction = _text(row, "instruction")
    extra = _text(row, "input", required=False)
    user = f"{instruction}\n{extra}" if extra.strip() else instruction
    turns: list[dict[str, Any]] = []
    sys_text = row.get("system") if isinstance(row.get("system"), str) and row.get("system") else system
    if sys_text:
        turns.append({"role": "system", "content": sys_text})
    history = row.get("history") or []
    if not isinstance(history, list):
        raise RowIssue(
            f"field 'history' must be a list of [instruction, response] pairs, got {type_name(history)}"
        )
    for i, pair in enumerate(history, 1):
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise RowIssue(f"history item {i} must be an [instruction, response] pair of strings")
        turns += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    turns.append({"role": "user", "content": user})
    return turns


def _chat(row: dict[str, Any], system: str | None) -> list[dict[str, Any]]:
    """The conversation of a ShareGPT or messages row, with its (or the recipe's) system prompt."""
    field = chat_field(row)
    if field is None:
        raise RowIssue(
            f"missing field 'messages' or 'conversations' (a list of turns), got {describe_columns([row])}"
        )
    value = row[field]
    if not value:
        raise RowIssue(f"field '{field}' is empty")
    msgs = from_sharegpt(value, field) if is_sharegpt(value) else from_chatml(value, field)
    sys_col = row.get("system")
    if isinstance(sys_col, str) and sys_col.strip():
        system = sys_col
    return with_system(msgs, system)


def _weights(row: dict[str, Any]) -> list[Any]:
    """Per-turn ``weight`` (OpenAI) / ``loss_weight`` (LLaMA-Factory v1) values, None where a turn has none."""
    value = row.get(chat_field(row) or "messages")
    if not isinstance(value, list):
        return []
    return [
        next((t[k] for k in WEIGHT_KEYS if k in t), None) if isinstance(t, dict) else None for t in value
    ]


def _weighted(row: dict[str, Any], system: str | None, tools: str | None) -> list[dict[str, Any]] | None:
    """Rows whose turns carry training weights: one prompt-completion row per trained assistant turn.

    TRL masks per row (completion only, or every assistant turn), never per turn, so a weight-0 assistant
    turn must end up in a prompt. None when the row has no weights (plain conversational rows).
    """
    weights = _weights(row)
    if all(w is None for w in weights):
        return None
    msgs = _chat(row, None)
    weights = [None] * (len(msgs) - len(weights)) + weights  # a `system` column adds a turn in front
    for i, (msg, w) in enumerate(zip(msgs, weights, strict=False), 1):
        if w is None:
            continue
        if isinstance(w, bool) or not isinstance(w, int | float) or w not in (0, 1):
            raise RowIssue(f"turn {i} has weight {w!r}; only 0 (context) and 1 (trained) can be expressed")
        if w == 1 and msg["role"] != "assistant":
            raise RowIssue(
                f"turn {i} ({msg['role']}) has weight 1, but only assistant turns can be trained; set it to 0"
            )
    trained = [
        i for i, (m, w) in enumerate(zip(msgs, weights, strict=False)) if m["role"] == "assistant" and w != 0
    ]
    if not trained:
        raise RowIssue("every assistant turn has weight 0: nothing in this row is trained")
    full = with_system(msgs, system)
    offset = len(full) - len(msgs)
    out = []
    for i in trained:
        item: dict[str, Any] = {"prompt": full[: i + offset], "completion": [full[i + offset]]}
        if tools:
            item["tools"] = tools
        out.append(item)
    return out


def _answer(value: Any, name: str) -> str | list[dict[str, Any]]:
    """A chosen/rejected/completion value: a string, a message list, or one ShareGPT/ChatML turn."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if is_sharegpt(value):
        return from_sharegpt(value, name)
    if is_chatml(value):
        return from_chatml(value, name)
    if value is None:
        raise RowIssue(f"missing field '{name}'")
    raise RowIssue(f"field '{name}' must be a string or a list of messages, got {type_name(value)}")


def _prompt(row: dict[str, Any], system: str | None) -> str | list[dict[str, Any]] | None:
    """The prompt of a preference / unpaired row in whichever form the row gives it (None: implicit)."""
    if "prompt" in row and row["prompt"] is not None:
        value = row["prompt"]
        if isinstance(value, str):
            return f"{system}\n\n{value}" if system else value
        return with_system(_answer(value, "prompt"), system)  # type: ignore[arg-type]
    if "instruction" in row:
        return _alpaca_prompt(row, system)
    if chat_field(row):
        return _chat(row, system)
    if "question" in row:
        return _text(row, "question")
    return None


def _label(row: dict[str, Any]) -> bool:
    name = next((f for f in LABEL_FIELDS if f in row), "label")
    value = row.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):  # CSV/TSV cells are text
        return value.strip().lower() == "true"
    if value is None:
        raise RowIssue(f"missing field '{name}' (true for a desirable completion, false otherwise)")
    raise RowIssue(f"field '{name}' must be true or false, got {value!r}")


def split_dialogue(chosen: str, rejected: str) -> tuple[str, str, str]:
    """An implicit-prompt text pair (hh-rlhf) -> (prompt, chosen, rejected), cut right after the last
    assistant marker that both share, so the prompt never swallows the start of an answer."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    cut = -1
    for marker in ASSISTANT_MARKERS:
        at = chosen.rfind(marker, 0, n)  # the marker must lie wholly inside the shared start
        if at >= 0:
            cut = max(cut, at + len(marker))
    if cut < 0:
        raise RowIssue(
            "chosen and rejected share no assistant turn ('\\n\\nAssistant:'), so the prompt cannot be told "
            "apart from the answers; give it in a 'prompt' column"
        )
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _conversation_pair(
    prompt: str, chosen: list[dict[str, Any]], rejected: list[dict[str, Any]], system: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """UltraFeedback-binarized: a ``prompt`` string and chosen/rejected as whole conversations that repeat
    the prompt turn -> the shared turns as the prompt, the rest as the answers."""
    n = common_prefix(chosen, rejected)
    if n and chosen[n - 1].get("role") == "assistant":  # both answers start alike: cut before that turn
        n -= 1
    head = chosen[:n]
    users = [m for m in head if m.get("role") == "user"]
    if not head:  # the answers do not repeat the prompt
        head = [{"role": "user", "content": prompt}]
    elif not users or users[-1].get("content", "").strip() != prompt.strip():
        raise RowIssue(
            "the 'prompt' text is not the last user turn that chosen and rejected share; set columns: so "
            "prompt, chosen and rejected line up"
        )
    return with_system(head, system), chosen[n:], rejected[n:]


def _preference(row: dict[str, Any], system: str | None) -> dict[str, Any]:
    for name, alias in PAIR_ALIASES.items():
        if name not in row and alias in row:
            row = {**row, name: row[alias]}
    chosen = _answer(row.get("chosen"), "chosen")
    rejected = _answer(row.get("rejected"), "rejected")
    prompt = _prompt(row, system)
    if isinstance(prompt, str) and isinstance(chosen, list) and isinstance(rejected, list):
        prompt, chosen, rejected = _conversation_pair(row["prompt"], chosen, rejected, system)
    if prompt is None:  # implicit prompt: the shared start of chosen and rejected
        if isinstance(chosen, list) and isinstance(rejected, list):
            n = common_prefix(chosen, rejected)
            if n and chosen[n - 1].get("role") == "assistant":
                n -= 1  # identical first answer turns belong to the answers, not the prompt
            prompt, chosen, rejected = with_system(chosen[:n], system), chosen[n:], rejected[n:]
        elif isinstance(chosen, str) and isinstance(rejected, str):
            prompt, chosen, rejected = split_dialogue(chosen, rejected)
        else:
            raise RowIssue("chosen and rejected must both be strings or both be message lists")
    if isinstance(prompt, list) and isinstance(chosen, str):  # conversational prompt, plain answers
        chosen = [{"role": "assistant", "content": chosen}]
        rejected = [{"role": "assistant", "content": rejected}] if isinstance(rejected, str) else rejected
    elif isinstance(prompt, list) and isinstance(rejected, str):
        rejected = [{"role": "assistant", "content": rejected}]
    elif isinstance(prompt, str) and (isinstance(chosen, list) or isinstance(rejected, list)):
        raise RowIssue("a plain-text prompt needs plain-text chosen and rejected")
    out = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    tools = tools_text(row.get("tools"))
    if tools:
        out["tools"] = tools
    return out


def _unpaired(row: dict[str, Any], system: str | None) -> dict[str, Any]:
    label = _label(row)
    if "completion" in row:
        prompt = _prompt(row, system)
        completion = _answer(row["completion"], "completion")
        if prompt is None:
            raise RowIssue("missing field 'prompt'")
        if isinstance(prompt, list) and isinstance(completion, str):
            completion = [{"role": "assistant", "content": completion}]
    elif "instruction" in row:
        prompt = _alpaca_prompt(row, system)
        completion = [{"role": "assistant", "content": _text(row, "output")}]
    else:
        prompt, completion = split_last_assistant(_chat(row, system), chat_field(row) or "messages")
    return {"prompt": prompt, "completion": completion, "label": label}


def convert(row: dict[str, Any], fmt: str, task: Task, *, system: str | None = None) -> list[dict[str, Any]]:
    """One source row -> TRL rows for ``task`` (usually one; a preference pair gives two unpaired rows)."""
    if fmt not in TASK_FORMATS[task]:
        raise RowIssue(wrong_task(fmt, task))
    media = media_of(row)
    if media:
        raise MultimodalRow(media)
    if fmt == "alpaca":
        prompt = _alpaca_prompt(row, system)
        output = _text(row, "response") if "response" in row and "output" not in row else _text(row, "output")
        return [{"prompt": prompt, "completion": [{"role": "assistant", "content": output}]}]
    if fmt in ("sharegpt", "messages"):
        tools = tools_text(row.get("tools"))
        weighted = _weighted(row, system, tools)
        if weighted is not None:
            return weighted
        out: dict[str, Any] = {"messages": _chat(row, system)}
        if tools:
            out["tools"] = tools
        return [out]
    if fmt == "prompt_completion":
        given = row.get("prompt")
        completion = _answer(row.get("completion"), "completion")
        if isinstance(given, str):
            if isinstance(completion, list):
                raise RowIssue("a plain-text prompt needs a plain-text completion")
            return [{"prompt": f"{system}\n\n{given}" if system else given, "completion": completion}]
        prompt = with_system(_answer(given, "prompt"), system)  # type: ignore[arg-type]
        if isinstance(completion, str):
            completion = [{"role": "assistant", "content": completion}]
        return [{"prompt": prompt, "completion": completion}]
    if fmt == "text":
        return [{"text": _text(row, "text")}]
    if fmt == "preference":
        pair = _preference(row, system)
        if task == "unpaired_preference":
            base = {"prompt": pair["prompt"]}
            return [
                {**base, "completion": pair["chosen"], "label": True},
                {**base, "completion": pair["rejected"], "label": False},
            ]
        return [pair]
    return [_unpaired(row, system)]


def wrong_task(fmt: str, task: str) -> str:
    what = DESCRIPTIONS.get(fmt, fmt)
    if task == "sft":
        return f"this is a {what} dataset, not SFT data; train it with kind: dpo, or set format: and columns: in the recipe"
    if task == "preference":
        return f"this is a {what} dataset; DPO needs prompt/chosen/rejected (set format: and columns: to map them)"
    return f"this is a {what} dataset; KTO needs prompt/completion/label or preference pairs"


def blank_fields(row: dict[str, Any]) -> list[str]:
    """Canonical fields that are empty (used by the checks and the quality report)."""
    return [
        k
        for k in ("prompt", "completion", "chosen", "rejected", "text", "messages")
        if k in row and is_blank(row[k])
    ]
