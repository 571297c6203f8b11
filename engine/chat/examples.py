"""Save a Playground exchange as an evaluation example (one JSONL row appended to a file the user names).

The row is TRL's conversational prompt-completion format, so ``tailor eval`` and an eval recipe's
``data:`` read it as they are: ``prompt`` is the conversation up to the last user turn, ``completion`` the
answer chosen as the reference. Every model's answer is kept under ``answers`` (ignored by the loaders) so
a probe that exposed a difference stays readable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tailor.engine.errors import TailorError


def append_example(path: str | Path, messages: list[dict[str, str]], answers: dict[str, str], reference: str) -> Path:
    """Append one row to ``path`` (created with its folder); ``reference`` names the answer to keep."""
    file = Path(path).expanduser()
    if file.suffix != ".jsonl":
        raise TailorError(f"{file}: an eval set is a .jsonl file; name one ending in .jsonl")
    if reference not in answers:
        raise TailorError(f"no answer from {reference!r} to save")
    if not messages or messages[-1].get("role") != "user":
        raise TailorError("nothing to save yet: ask something first")
    row = {
        "prompt": messages,
        "completion": [{"role": "assistant", "content": answers[reference]}],
        "answers": answers,
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
