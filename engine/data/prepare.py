"""Turn a recipe's ``data:`` block into TRL-ready datasets, refusing bad data before training starts.

``validate_training_data`` reads, detects, converts and checks every row without importing ``datasets``;
``load_training_data`` does the same and then builds ``datasets.Dataset`` objects, mixes several sources with
their weights (interleaved with a seed) and splits off an eval set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tailor.engine.data.checks import check_row, shape
from tailor.engine.data.formats import (
    DESCRIPTIONS,
    TASK_FORMATS,
    Task,
    apply_columns,
    convert,
    describe_columns,
    detect,
    wrong_task,
)
from tailor.engine.data.layouts import mixed_layouts
from tailor.engine.data.readers import iter_records
from tailor.engine.data.records import Loc, Problem, Record, summarize
from tailor.engine.data.sources import Resolved, resolve
from tailor.engine.data.turns import MultimodalRow, RowIssue
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSource, DataSpec

if TYPE_CHECKING:
    import datasets

    from tailor.engine.data.render import LossPlan

SAMPLE = 50  # rows used to detect the format


@dataclass
class SourceData:
    """One source read and converted: TRL rows with their locations, and every problem found."""

    source: DataSource
    label: str
    format: str = "?"
    rows: list[dict[str, Any]] = field(default_factory=list)
    locs: list[Loc] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    count: int = 0  # good source rows (``rows`` holds only the first when read with ``keep=False``)

    @property
    def shape(self) -> str:
        return shape(self.rows[0]) if self.rows else "empty"


def row_number(loc: Loc) -> int | None:
    return loc.row if loc.row is not None else loc.line


def multimodal_message(label: str, media: str, loc: Loc) -> str:
    return (
        f"{label}: this dataset is multimodal ({media} at row {row_number(loc)}); Tailor trains text-only "
        "models"
    )


def records_of(resolved: Resolved, src: DataSource | None = None) -> Iterator[Record]:
    """Every record of a resolved path, across its files in order."""
    if resolved.hub_id:
        from tailor.engine.data.hub import hub_records

        yield from hub_records(
            resolved.hub_id, subset=src.subset if src else None, split=src.split if src else None
        )
        return
    for path in resolved.files:
        yield from iter_records(path)


def detect_format(records: list[Record], label: str, columns: dict[str, str] | None = None) -> str:
    """The format of some records (after the column mapping), or a DataError telling what to set."""
    rows, numbers = [], []
    for rec in records:
        if rec.ok:
            try:
                rows.append(apply_columns(rec.data or {}, columns or {}))
                numbers.append(row_number(rec.loc) or 0)
            except RowIssue:
                continue
    mixed = mixed_layouts(rows, numbers)
    if mixed:
        raise DataError(
            f"{label}: the rows mix layouts ({mixed}); put each layout in its own file, or set format: to the "
            "one to train and data.on_invalid: skip to leave the others out"
        )
    fmt = detect(rows)
    if fmt is None:
        if not rows:
            raise DataError(f"{label}: no readable rows to detect the format from")
        raise DataError(
            f"{label}: cannot tell the format from the columns ({describe_columns(rows)}); set format: "
            f"({', '.join(DESCRIPTIONS)}) and columns: in the recipe"
        )
    return fmt


def read_source(src: DataSource, *, task: Task, system: str | None = None, keep: bool = True) -> SourceData:
    """Read, detect, convert and check one source. Problems are collected, not raised. ``keep=False``
    streams: every row is checked as the trainer reads it, but only the first is kept (a check of a
    1M-row file must not hold it in memory)."""
    from tailor.engine.data.registry import find, split_spec

    entry = find(*parts) if (parts := split_spec(src.path)) else None  # dataset_info.json#name
    resolved = resolve(str(entry.file) if entry else src.path, split=src.split)
    out = SourceData(src, src.path if entry else resolved.label)
    records = records_of(resolved, src)
    if entry is not None:
        apply = entry.transform()
        records = (Record(apply(r.data), r.loc) if r.data is not None else r for r in records)
        if src.format == "auto":
            src = src.model_copy(update={"format": entry.format})
    head: list[Record] = []
    for rec in records:
        head.append(rec)
        if sum(r.ok for r in head) >= SAMPLE:
            break
    if not head:
        raise DataError(f"{resolved.label}: the dataset has no rows")
    out.format = src.format if src.format != "auto" else detect_format(head, resolved.label, src.columns)
    if out.format not in TASK_FORMATS[task]:
        raise DataError(f"{resolved.label}: {wrong_task(out.format, task)}")
    first_shape: tuple[str, Loc] | None = None
    good = 0

    def handle(rec: Record) -> None:
        nonlocal first_shape, good
        if not rec.ok:
            out.problems.append(Problem(rec.loc, rec.error or "malformed row"))
            return
        try:
            rows = convert(apply_columns(rec.data or {}, src.columns), out.format, task, system=system)
        except MultimodalRow as exc:
            raise DataError(multimodal_message(resolved.label, exc.media, rec.loc)) from None
        except RowIssue as exc:
            out.problems.append(Problem(rec.loc, str(exc), kind="invalid"))
            return
        for row in rows:
            message = check_row(row, task)
            if message:
                out.problems.append(Problem(rec.loc, message, kind="invalid"))
                return
            kind = chat_shape(shape(row))
            if first_shape is None:
                first_shape = (kind, rec.loc)
            elif kind != first_shape[0]:
                out.problems.append(
                    Problem(
                        rec.loc,
                        f"this row is {kind} but {first_shape[1].short} is {first_shape[0]}",
                        kind="mixed",
                    )
                )
                return
        good += 1
        out.count = good
        if keep or not out.rows:
            out.rows += rows
            out.locs += [rec.loc] * len(rows)

    for rec in head:
        if src.max_rows and good >= src.max_rows:
            break
        handle(rec)
    for rec in records:
        if src.max_rows and good >= src.max_rows:
            break
        handle(rec)
    if not out.rows and not out.problems:
        raise DataError(f"{resolved.label}: the dataset has no rows")
    out.rows, out.locs = unify_chat(out.rows, out.locs)
    return out


CHAT = "conversation (messages or prompt-completion)"


def chat_shape(kind: str) -> str:
    """Plain conversations and weighted ones (split into prompt-completion rows) can share a file."""
    return CHAT if kind in ("messages", "prompt-completion (conversational)") else kind


def unify_chat(rows: list[dict[str, Any]], locs: list[Loc]) -> tuple[list[dict[str, Any]], list[Loc]]:
    """When some rows of a source became prompt-completion (per-turn weights) and others are plain
    ``messages``, split the plain ones the same way, one row per assistant turn: TRL needs one shape, and
    this trains exactly the assistant turns either way."""
    kinds = {shape(r) for r in rows}
    if not ("messages" in kinds and "prompt-completion (conversational)" in kinds):
        return rows, locs
    out: list[dict[str, Any]] = []
    out_locs: list[Loc] = []
    for row, loc in zip(rows, locs, strict=True):
        if "messages" not in row:
            out.append(row)
            out_locs.append(loc)
            continue
        msgs = row["messages"]
        for i, msg in enumerate(msgs):
            if msg.get("role") == "assistant":
                item = {"prompt": msgs[:i], "completion": [msg]}
                if row.get("tools"):
                    item["tools"] = row["tools"]
                out.append(item)
                out_locs.append(loc)
    return out, out_locs


def _skip_note(part: SourceData) -> str:
    first = ", ".join(f"{p.loc.short}: {p.message}" for p in part.skipped[:3])
    return f"{part.label}: skipped {len(part.skipped)} invalid rows (data.on_invalid: skip), e.g. {first}"


def _read_all(
    sources: list[DataSource], *, task: Task, system: str | None, skip: bool = False, log=None, keep: bool = True
) -> list[SourceData]:
    parts = [read_source(src, task=task, system=system, keep=keep) for src in sources]
    for part in parts:
        if part.problems and skip and part.rows:
            part.skipped, part.problems = part.problems, []
            if log is not None:
                log(_skip_note(part), "warning")
        if part.problems:
            # several bad rows in a large file: say how to train on the rest without hand-editing it
            hint = "; or set data.on_invalid: skip to train on the valid rows" if len(part.problems) > 1 else ""
            raise DataError(summarize(part.problems) + hint)
        if not part.rows:
            raise DataError(f"{part.label}: the dataset has no usable rows")
    first = parts[0]
    for part in parts[1:]:
        if part.shape != first.shape:
            raise DataError(
                f"{part.label} is {part.shape} but {first.label} is {first.shape}; sources mixed in one recipe "
                "must convert to the same shape (set format: or columns: so they match)"
            )
    return parts


def validate_training_data(data: DataSpec, *, task: Task, keep: bool = True) -> list[SourceData]:
    """Read and check every train and eval row without ``datasets``; raise DataError naming the first bad
    rows and their count. ``keep=False``: streamed, the rows are checked but not kept (``read_source``)."""
    if data.eval and data.eval_split:
        raise DataError("data: set either eval or eval_split, not both")
    skip = data.on_invalid == "skip"
    parts = _read_all(data.train, task=task, system=data.system_prompt, skip=skip, keep=keep)
    if data.eval:
        evals = _read_all(data.eval, task=task, system=data.system_prompt, skip=skip, keep=keep)
        if evals[0].shape != parts[0].shape:
            raise DataError(
                f"{evals[0].label} (eval) is {evals[0].shape} but {parts[0].label} (train) is {parts[0].shape}"
            )
        parts += evals
    return parts


def load_training_data(
    data: DataSpec,
    *,
    task: Task,
    seed: int,
    tokenizer: Any = None,
    model: str = "the model",
    log=None,
    plan: LossPlan | None = None,
) -> tuple[datasets.Dataset, datasets.Dataset | None]:
    """TRL-ready (train, eval) datasets for ``task``; DataError before any training for bad data.

    The seed for mixing and splitting is ``data.seed`` when the recipe sets it, else ``seed`` (the recipe's).
    With ``tokenizer``, rows the chat template cannot render (tools, tool calls, reasoning) are refused;
    with ``plan`` too (SFT), the rows come back pre-tokenized with their loss masks (engine.data.render);
    ``log(text, level)`` hears about skipped rows.
    """
    import datasets

    if data.eval and data.eval_split:
        raise DataError("data: set either eval or eval_split, not both")
    seed = data.seed if "seed" in data.model_fields_set else seed
    skip = data.on_invalid == "skip"
    train_parts = _read_all(data.train, task=task, system=data.system_prompt, skip=skip, log=log)
    eval_parts = (
        _read_all(data.eval, task=task, system=data.system_prompt, skip=skip, log=log) if data.eval else []
    )
    if tokenizer is not None:
        from tailor.engine.data.fit import refuse_unrenderable

        for part in train_parts + eval_parts:
            refuse_unrenderable(zip(part.rows, part.locs, strict=False), tokenizer, model)
    if eval_parts and eval_parts[0].shape != train_parts[0].shape:
        raise DataError(
            f"{eval_parts[0].label} (eval) is {eval_parts[0].shape} but {train_parts[0].label} (train) is "
            f"{train_parts[0].shape}"
        )
    if tokenizer is not None and plan is not None:
        from tailor.engine.data.render import encode_sft

        for part in train_parts + eval_parts:
            part.rows = encode_sft(part.rows, part.locs, tokenizer, plan, model)
    features = build_features([r for p in train_parts + eval_parts for r in p.rows])
    train_sets = [to_dataset(p.rows, features) for p in train_parts]
    if len(train_sets) == 1:
        train = train_sets[0]
    else:
        total = sum(p.source.weight for p in train_parts)
        train = datasets.interleave_datasets(
            train_sets, probabilities=[p.source.weight / total for p in train_parts], seed=seed
        )
    evaluation = None
    if eval_parts:
        sets = [to_dataset(p.rows, features) for p in eval_parts]
        evaluation = sets[0] if len(sets) == 1 else datasets.concatenate_datasets(sets)
    elif data.eval_split:
        train, evaluation = split_eval(train, data.eval_split, seed, train_parts[0].label)
    return train, evaluation


def split_eval(train: datasets.Dataset, size: float | int, seed: int, label: str):
    """Split ``size`` (fraction or row count) off ``train`` with ``seed``."""
    n = len(train)
    count = size if isinstance(size, int) else int(round(n * size))
    if count < 1:
        raise DataError(f"{label}: eval_split {size} leaves no eval rows out of {n}; use a larger fraction")
    if count >= n:
        raise DataError(f"{label}: eval_split {size} takes all {n} rows; leave some for training")
    parts = train.train_test_split(test_size=count, seed=seed, shuffle=True)
    return parts["train"], parts["test"]


CONVERSATIONAL = ("messages", "prompt", "completion", "chosen", "rejected")


def build_features(rows: list[dict[str, Any]]) -> datasets.Features:
    """One schema for every source, so they can be interleaved: messages as role/content structs, or as JSON
    objects when some message carries more (tool calls), so no key is padded with nulls."""
    from datasets import Features, Json, List, Value

    if rows and "input_ids" in rows[0]:  # pre-tokenized SFT rows (load_training_data with a plan)
        return Features({"input_ids": List(Value("int32")), "assistant_masks": List(Value("int8"))})
    feats: dict[str, Any] = {}
    for row in rows:
        for key, value in row.items():
            if key in feats and not isinstance(feats[key], List):
                continue
            if key in CONVERSATIONAL and isinstance(value, list):
                plain = all(set(m) <= {"role", "content"} for m in value)
                if not plain or (key in feats and isinstance(feats[key].feature, Json)):
                    feats[key] = List(Json())
                else:
                    feats[key] = List({"role": Value("string"), "content": Value("string")})
            elif key == "label":
                feats[key] = Value("bool")
            else:
                feats[key] = Value("string")
    return Features(feats)


def to_dataset(rows: list[dict[str, Any]], features: datasets.Features) -> datasets.Dataset:
    import datasets

    columns = {name: [row.get(name) for row in rows] for name in features}
    return datasets.Dataset.from_dict(columns, features=features)
