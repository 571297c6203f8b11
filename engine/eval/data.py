"""Read held-out sets and few-shot pools through the datasets module (engine.data.prepare).

Any format Tailor trains on is accepted; rows are converted to TRL's standard formats by the same code
the trainers use, then to :class:`~engine.eval.prompts.Example`. Plain-text rows have no reference to
compare with, so they are refused with a message saying what to use instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import DataError
from tailor.engine.eval.prompts import Example, example_from_row
from tailor.engine.recipes.common import DataSource

if TYPE_CHECKING:
    from tailor.engine.recipes.common import DataSpec


def resolve_sources(sources: list[DataSource], base_dir: Path | None) -> list[DataSource]:
    """Copies of ``sources`` with relative local paths made absolute against ``base_dir``."""
    out = []
    for src in sources:
        path = Path(src.path).expanduser()
        if base_dir is not None and not path.is_absolute() and not src.path.startswith("hf://"):
            candidate = base_dir / path
            if candidate.exists() or any(ch in src.path for ch in "*?["):
                src = src.model_copy(update={"path": str(candidate)})
        out.append(src)
    return out


def source_task(src: DataSource) -> str:
    """``preference`` for chosen/rejected data, ``unpaired_preference`` for KTO data, else ``sft``."""
    from tailor.engine.data.prepare import detect_format, records_of
    from tailor.engine.data.sources import resolve

    fmt: str = src.format
    if fmt == "auto":
        resolved = resolve(src.path, split=src.split)
        head = []
        for rec in records_of(resolved, src):
            head.append(rec)
            if len(head) >= 50:
                break
        if not head:
            raise DataError(f"{resolved.label}: the dataset has no rows")
        fmt = detect_format(head, resolved.label, src.columns)
    return fmt if fmt in ("preference", "unpaired_preference") else "sft"


def read_examples(sources: list[DataSource], *, system: str | None = None, what: str = "data") -> list[Example]:
    """Every row of ``sources`` as Examples; DataError naming the first bad row (file:line)."""
    from tailor.engine.data.prepare import read_source
    from tailor.engine.data.records import summarize

    examples: list[Example] = []
    kinds: set[str] = set()
    for src in sources:
        task = source_task(src)
        if task == "unpaired_preference":
            raise DataError(
                f"{src.path}: unpaired (KTO) data has no pairs or references to evaluate against; "
                f"use prompt/chosen/rejected or prompt/completion data for {what}"
            )
        part = read_source(src, task=task, system=system)  # type: ignore[arg-type]
        if part.problems:
            raise DataError(summarize(part.problems))
        for row in part.rows:
            ex = example_from_row(row)
            if ex is None:
                raise DataError(
                    f"{part.label}: plain-text rows have no prompt and reference to compare outputs with; "
                    f"use prompt/completion, messages or preference data for {what}"
                )
            examples.append(ex)
        kinds.add(task)
    if len(kinds) > 1:
        raise DataError(f"{what}: mixes preference pairs with prompt/completion data; evaluate them separately")
    if not examples:
        raise DataError(f"{what}: no rows to evaluate")
    return examples


def rows_to_examples(rows: Any) -> list[Example]:
    """A ``datasets.Dataset`` (or list) of TRL rows -> Examples, skipping rows without a reference."""
    out = []
    for row in rows:
        ex = example_from_row(dict(row))
        if ex is not None:
            out.append(ex)
    return out


def training_sets(data: DataSpec, *, task: str, seed: int) -> tuple[list[Example], list[Example]]:
    """A training recipe's (train, eval) rows as Examples, split exactly as the trainer splits them."""
    from tailor.engine.data.prepare import load_training_data

    train, evaluation = load_training_data(data, task=task, seed=seed)  # type: ignore[arg-type]
    return rows_to_examples(train), rows_to_examples(evaluation) if evaluation is not None else []
