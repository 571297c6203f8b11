"""Save a Playground exchange as an evaluation example (one JSONL row appended to a file the user names).

The row is TRL's conversational prompt-completion format, so ``tailor eval`` and an eval recipe's
``data:`` read it as they are: ``prompt`` is the conversation up to the last user turn, ``completion`` the
answer chosen as the reference (as the user corrected it: a model's answer is not necessarily right).
Every model's answer is kept under ``answers`` and the one the reference came from under
``reference_from`` (both ignored by the loaders) so a probe that exposed a difference stays readable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tailor.engine.errors import TailorError


def append_example(path: str | Path, messages: list[dict[str, str]], answers: dict[str, str], reference: str,
                   completion: str | None = None) -> Path:
    """Append one row to ``path`` (created with its folder); ``reference`` names the answer the reference
    completion comes from, ``completion`` (when given) is that answer as the user corrected it."""
    file = Path(path).expanduser()
    if file.suffix != ".jsonl":
        raise TailorError(f"{file}: an eval set is a .jsonl file; name one ending in .jsonl")
    if reference not in answers:
        raise TailorError(f"no answer from {reference!r} to save")
    if not messages or messages[-1].get("role") != "user":
        raise TailorError("nothing to save yet: ask something first")
    text = answers[reference] if completion is None else completion
    if not text.strip():
        raise TailorError("the reference completion is empty; type the answer the model should give")
    row = {
        "prompt": messages,
        "completion": [{"role": "assistant", "content": text}],
        "answers": answers,
        "reference_from": reference if text == answers[reference] else f"{reference} (edited)",
    }
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise TailorError(f"{file}: cannot append the example: {exc.strerror or exc}") from None
    return file
