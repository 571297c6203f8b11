"""Prompt data for ``kind: grpo``: a prompt per row plus the columns the rewards read, checked up front.

Accepted rows (after the source's ``columns:`` mapping):

- ``{"prompt": "..."}`` or ``{"prompt": [chat turns ending with the user's]}``, plus any other columns
  (a reference ``answer``, test cases...): they reach every reward as keyword arguments;
- prompt-completion rows: the completion's text becomes the ``answer`` column (unless there is one);
- ``messages`` rows: the turns before the last assistant turn are the prompt, its text the ``answer``.

A bad row stops the run before the model loads, naming its file and line.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from tailor.engine.data.formats import apply_columns, chat_field
from tailor.engine.data.records import Loc
from tailor.engine.data.turns import RowIssue
from tailor.engine.errors import DataError

if TYPE_CHECKING:
    import datasets

    from tailor.engine.recipes.common import DataSource
    from tailor.engine.recipes.grpo import GRPORecipe

DROPPED = ("completion", "messages", "chosen", "rejected", "label")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(m.get("content") or "") for m in value if isinstance(m, dict))
    raise RowIssue(f"expected text or chat turns, got {type(value).__name__}")


def _turns(value: list[Any]) -> list[dict[str, Any]]:
    for i, turn in enumerate(value, 1):
        if not (isinstance(turn, dict) and isinstance(turn.get("role"), str) and "content" in turn):
            raise RowIssue(f"prompt turn {i} must be a {{role, content}} mapping")
    return value


def prompt_row(row: dict[str, Any], system: str | None) -> dict[str, Any]:
    """One GRPO row from a source row (RowIssue naming the problem when it has no usable prompt)."""
    out = {k: v for k, v in row.items() if k not in DROPPED}
    field = chat_field(row)
    if "prompt" in row:
        prompt = row["prompt"]
        if "completion" in row and "answer" not in row:
            out["answer"] = _text(row["completion"]).strip()
    elif field:
        turns = _turns(row[field])
        last = max((i for i, t in enumerate(turns) if t["role"] == "assistant"), default=None)
        if last is None:
            prompt = turns
        else:
            prompt = turns[:last]
            out.setdefault("answer", _text(turns[last]["content"]).strip())
        out.pop(field, None)
    else:
        raise RowIssue(f"no 'prompt' field (columns: {', '.join(list(row)[:8]) or 'none'}); map one with columns: {{prompt: ...}}")
    if isinstance(prompt, str):
        if not prompt.strip():
            raise RowIssue("field 'prompt' is empty")
    elif isinstance(prompt, list):
        prompt = _turns(prompt)
        if not prompt:
            raise RowIssue("the prompt has no turns")
        if prompt[-1]["role"] == "assistant":
            raise RowIssue("the prompt ends with an assistant turn; the model answers the last user turn")
        if system and prompt[0]["role"] != "system":
            prompt = [{"role": "system", "content": system}, *prompt]
    else:
        raise RowIssue(f"field 'prompt' must be text or chat turns, got {type(prompt).__name__}")
    out["prompt"] = prompt
    return out


def read_source(src: DataSource, recipe: GRPORecipe, required: list[str]) -> list[dict[str, Any]]:
    from tailor.engine.data.prepare import records_of
    from tailor.engine.data.sources import resolve

    resolved = resolve(src.path, split=src.split)
    rows: list[dict[str, Any]] = []
    first: tuple[Loc, bool] | None = None
    for rec in records_of(resolved, src):
        if src.max_rows and len(rows) >= src.max_rows:
            break
        if not rec.ok:
            raise DataError(f"{rec.loc}: {rec.error}")
        try:
            row = prompt_row(apply_columns(rec.data or {}, src.columns), recipe.data.system_prompt)
            missing = [c for c in required if row.get(c) in (None, "")]
            if missing:
                raise RowIssue(f"no '{missing[0]}' value, which the rewards compare against "
                               f"(map the column with columns: {{{missing[0]}: ...}})")
        except RowIssue as exc:
            raise DataError(f"{rec.loc}: {exc}") from None
        chat = isinstance(row["prompt"], list)
        if first is None:
            first = (rec.loc, chat)
        elif first[1] != chat:
            raise DataError(f"{rec.loc}: a {'chat' if chat else 'text'} prompt, but {first[0]} has a "
                            f"{'chat' if first[1] else 'text'} prompt; use one kind throughout")
        rows.append(row)
    if not rows:
        raise DataError(f"{resolved.label}: no rows")
    return rows


def load_prompt_data(recipe: GRPORecipe) -> tuple[datasets.Dataset, datasets.Dataset | None]:
    """(train, eval) datasets of prompts; eval from data.eval or data.eval_split, else None."""
    import datasets

    data = recipe.data
    if data.eval and data.eval_split:
        raise DataError("data: set either eval or eval_split, not both")
    required = sorted({c for r in recipe.rewards for c in r.columns})
    seed = data.seed if "seed" in data.model_fields_set else recipe.seed
    train_rows: list[dict[str, Any]] = []
    for src in data.train:
        if src.weight != int(src.weight):
            raise DataError(f"data.train: {src.path}: weight {src.weight}: GRPO mixes prompt sources by whole "
                            "repeats; use a whole number (or max_rows to take fewer rows)")
        part = read_source(src, recipe, required)
        train_rows += part * int(src.weight)  # weights as whole repeats: exact, and no sampler to configure
    eval_rows = [r for src in data.eval for r in read_source(src, recipe, required)] if data.eval else None
    if eval_rows is None and data.eval_split:
        rng = random.Random(seed)
        rng.shuffle(train_rows)
        count = data.eval_split if isinstance(data.eval_split, int) else round(len(train_rows) * data.eval_split)
        if not 0 < count < len(train_rows):
            raise DataError(f"data.eval_split {data.eval_split} leaves no train or no eval rows of {len(train_rows)}")
        eval_rows, train_rows = train_rows[:count], train_rows[count:]
    train = datasets.Dataset.from_list(train_rows)
    return train, datasets.Dataset.from_list(eval_rows) if eval_rows else None
