"""Scanning a dataset into its quality report (``QualityReport`` and its verdict: engine/data/report.py):
rows, empty/missing fields, mixed types, exact and near duplicates, token lengths with the target model's
tokenizer, train/eval overlap, chosen == rejected, malformed rows.

``scan`` needs only the standard library and numpy (so it runs in the TUI's worker thread);
``add_token_lengths`` loads the tokenizer (transformers) and is optional.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from tailor.engine.data.checks import check_row
from tailor.engine.data.formats import apply_columns, convert, detect
from tailor.engine.data.layouts import mixed_layouts
from tailor.engine.data.records import Loc, Problem, Record
from tailor.engine.data.report import LengthStats, QualityReport, verdict_lines
from tailor.engine.data.turns import MultimodalRow, RowIssue, is_blank, type_name

if TYPE_CHECKING:
    from tailor.engine.data.render import LossPlan

Progress = Callable[[float], object]  # any return value is ignored
TASK_OF = {"preference": "preference", "unpaired_preference": "unpaired_preference"}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w]*)\s*\}\}")
OPTIONAL = {"input", "system", "history", "tools", "images"}
NUM_PERM, BANDS = 32, 8  # MinHash: 8 bands of 4 rows -> pairs with Jaccard >= ~0.8 collide


def _digest(value: Any) -> bytes:
    return hashlib.blake2b(
        json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode(), digest_size=16
    ).digest()


def _side(row: dict[str, Any]) -> Any:
    """The input side of a converted row: what must not appear in both train and eval."""
    if "messages" in row:
        return [m for m in row["messages"] if m.get("role") != "assistant"] or row["messages"]
    return row.get("prompt", row.get("text"))


def _flat_text(row: dict[str, Any]) -> str:
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            walk(v.get("content", v.get("value", "")))

    for key in ("messages", "prompt", "completion", "chosen", "rejected", "text"):
        walk(row.get(key))
    return " ".join(parts)


class _MinHash:
    """Near-duplicate finder: MinHash of word 3-grams, banded LSH, confirmed by estimated Jaccard."""

    def __init__(self, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, (1 << 31) - 1, NUM_PERM, dtype=np.uint64)
        self.b = rng.integers(0, (1 << 31) - 1, NUM_PERM, dtype=np.uint64)
        self.buckets: list[dict[bytes, int]] = [{} for _ in range(BANDS)]
        self.sigs: list[np.ndarray] = []

    def add(self, text: str) -> int | None:
        """Add a text; return the index of an earlier near-duplicate, if any."""
        words = re.findall(r"\w+", text.lower())
        grams = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
        hashes = np.array(
            [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little") for g in grams],
            dtype=np.uint64,
        )
        sig = ((hashes[:, None] * self.a + self.b) % np.uint64((1 << 31) - 1)).min(axis=0)
        index = len(self.sigs)
        self.sigs.append(sig)
        width = NUM_PERM // BANDS
        found = None
        for band in range(BANDS):
            key = sig[band * width : (band + 1) * width].tobytes()
            other = self.buckets[band].setdefault(key, index)
            if other != index and found is None and (self.sigs[other] == sig).mean() >= 0.8:
                found = other
        return found


def scan(
    records: Iterable[Record],
    label: str,
    *,
    fmt: str = "auto",
    columns: dict[str, str] | None = None,
    near: bool = True,
    progress: Progress | None = None,
    total: int | None = None,
    keep_rows: bool = True,
) -> QualityReport:
    """Read every record once and collect the report (no tokenizer)."""
    report = QualityReport(label)
    seen: dict[bytes, Loc] = {}
    minhash = _MinHash() if near else None
    near_locs: list[Loc] = []
    head: list[Record] = []
    it = iter(records)
    for rec in it:
        head.append(rec)
        if sum(r.ok for r in head) >= 50:
            break
    sample, numbers = [], []
    for r in head:
        if r.ok:
            with contextlib.suppress(RowIssue):
                sample.append(apply_columns(r.data or {}, columns or {}))
                numbers.append(r.loc.row if r.loc.row is not None else r.loc.line or 0)
    if fmt == "auto":
        report.mixed = mixed_layouts(sample, numbers)
    report.format = fmt if fmt != "auto" else detect(sample)
    report.task = TASK_OF.get(report.format or "", "sft")
    col_order: list[str] = []
    good = [0]

    def handle(rec: Record) -> None:
        report.rows += 1
        if progress and total and report.rows % 5000 == 0:
            progress(min(0.99, report.rows / total))
        if not rec.ok:
            report.malformed.append(Problem(rec.loc, rec.error or "malformed"))
            return
        data = rec.data or {}
        good[0] += 1
        for key, value in data.items():
            if key not in report.types:
                report.types[key] = Counter()
                col_order.append(key)
            report.types[key][type_name(value)] += 1
            if value is not None and is_blank(value):
                report.empty[key] += 1
        digest = _digest(data)
        if digest in seen:
            report.exact_dups.append((rec.loc, seen[digest]))
        else:
            seen[digest] = rec.loc
        for name in PLACEHOLDER.findall(json.dumps(data, ensure_ascii=False)):
            report.placeholders["{{" + name + "}}"] += 1
        if report.format is None:
            return
        try:
            rows = convert(apply_columns(data, columns or {}), report.format, report.task)  # type: ignore[arg-type]
        except MultimodalRow as exc:
            if report.multimodal is None:
                number = rec.loc.row if rec.loc.row is not None else rec.loc.line
                report.multimodal = f"{exc.media} at row {number}"
            return
        except RowIssue as exc:
            report.invalid.append(Problem(rec.loc, str(exc), kind="invalid"))
            return
        for row in rows:
            message = check_row(row, report.task)
            if message and "chosen equals rejected" in message:
                report.chosen_equals_rejected.append(rec.loc)
            elif message:
                report.invalid.append(Problem(rec.loc, message, kind="invalid"))
            if keep_rows:
                report.converted.append((row, rec.loc))
        if minhash is not None and seen[digest] == rec.loc:  # exact duplicates are counted above
            other = minhash.add(_flat_text(rows[0]) if rows else json.dumps(data))
            near_locs.append(rec.loc)
            if other is not None:
                report.near_dups.append((rec.loc, near_locs[other]))

    for rec in head:
        handle(rec)
    for rec in it:
        handle(rec)
    report.columns = col_order
    for key in col_order:  # absent, or null
        report.missing[key] = good[0] - sum(report.types[key].values()) + report.types[key].get("null", 0)
    report.missing = +report.missing
    if progress:
        progress(1.0)
    return report


def add_overlap(report: QualityReport, eval_report: QualityReport) -> None:
    """Eval rows whose input (prompt / user turns / text) also appears in train."""
    train_sides = {_digest(_side(row)) for row, _ in report.converted}
    report.eval_label, report.eval_rows = eval_report.label, eval_report.rows
    report.overlap = [loc for row, loc in eval_report.converted if _digest(_side(row)) in train_sides]


def add_token_lengths(
    report: QualityReport,
    tokenizer: Any,
    *,
    name: str,
    plan: LossPlan | None = None,
    limit: int = 20000,
    progress: Progress | None = None,
) -> None:
    """Token lengths and loss masks of the training sequences, exactly as the trainer builds them under
    ``plan`` (engine.data.render; default: the SFT trainer's plan for this tokenizer), sampled evenly past
    ``limit``. Also records what is trained and whether the template can be split into turns."""
    from tailor.engine.data.render import CHAT_TRAINED, loss_plan, sequences, what_is_trained

    plan = plan or loss_plan(tokenizer)
    max_length = plan.max_length or 0
    # we count lengths on purpose; silence transformers' "longer than the maximum" warning (restored below)
    kept_limit = getattr(tokenizer, "model_max_length", None)
    tokenizer.model_max_length = max(int(kept_limit or 0), 1 << 40)
    rows = report.converted
    step = max(1, len(rows) // limit) if len(rows) > limit else 1
    picked = rows[::step]
    stats = LengthStats(name, max_length, [], sampled=step > 1)
    unk = getattr(tokenizer, "unk_token_id", None)
    split_refusal: str | None = None
    try:
        for i, (row, loc) in enumerate(picked):
            if report.task == "sft":
                report.trained.add(what_is_trained(row, tokenizer, plan))
            try:
                seqs = sequences(row, tokenizer, plan, spans=False, model=name)
            except RowIssue as exc:  # the template cannot be split into turns: training refuses the data
                split_refusal = split_refusal or f"{loc}: {exc}"
                continue
            except Exception as exc:  # a template that rejects a row is itself a finding
                report.invalid.append(
                    Problem(loc, f"the chat template fails on this row: {exc}", kind="template")
                )
                continue
            if report.task == "sft" and what_is_trained(row, tokenizer, plan) == "whole conversation":
                report.user_trained += 1
            n = max(r.tokens for r in seqs)
            if n > stats.longest:
                stats.longest_at = loc
            stats.lengths.append(n)
            if max_length and n > max_length:
                stats.over.append(loc)
            if unk is not None:
                count = max(r.ids.count(unk) for r in seqs)
                stats.unknown += count
                if count and stats.unknown_first is None:
                    stats.unknown_first = loc
            if progress and i % 200 == 0:
                progress(i / max(1, len(picked)))
    finally:
        tokenizer.model_max_length = kept_limit
    report.lengths = stats
    report.chat = bool(report.trained & CHAT_TRAINED) or (
        report.task != "sft" and any(isinstance(row.get("prompt"), list) for row, _ in picked[:50])
    )
    from tailor.engine.data.fit import first_unrenderable, unrenderable_message

    hit = first_unrenderable(report.converted, tokenizer)
    report.template = unrenderable_message(*hit, name) if hit else split_refusal


def _where(locs: list[Loc], limit: int = 5) -> str:
    shown = ", ".join(loc.short for loc in locs[:limit])
    return shown + (f" and {len(locs) - limit} more" if len(locs) > limit else "")


def summary(report: QualityReport) -> list[tuple[str, str, bool]]:
    """(label, value, is_a_problem) lines shared by ``tailor data check`` and the Datasets screen."""
    out: list[tuple[str, str, bool]] = [
        ("format", report.format_text, report.format is None),
        ("rows", str(report.rows), report.rows == 0),
        ("columns", ", ".join(report.columns) or "-", False),
    ]

    def problems(label: str, items: list[Problem]) -> None:
        out.append((label, f"{len(items)}: {items[0]}" if items else "ok", bool(items)))
        out.extend(("", str(p), True) for p in items[1:5])

    problems("malformed rows", report.malformed)
    if report.invalid:
        problems("rows unfit for training", report.invalid)
    missing = ", ".join(f"{k} ({v})" for k, v in report.missing.items())
    empty = ", ".join(f"{k} ({v})" for k, v in report.empty.items())
    out.append(("missing fields", missing or "ok", bool(missing)))
    # optional fields (alpaca input, system...) are often empty on purpose: listed, not flagged
    flagged = any(k not in OPTIONAL for k in report.empty)
    out.append(("empty fields", empty or "ok", flagged))
    mixed = "; ".join(
        f"{c}: " + ", ".join(f"{t} {n}" for t, n in types.items()) for c, types in report.mixed_types.items()
    )
    out.append(("mixed types", mixed or "ok", bool(mixed)))
    for label, pairs, sign in (
        ("exact duplicates", report.exact_dups, "="),
        ("near duplicates", report.near_dups, "~"),
    ):
        out.append((label, str(len(pairs)) if pairs else "ok", bool(pairs)))
        out.extend(("", f"{a.short} {sign} {b.short}", True) for a, b in pairs[:3])
    if report.task == "preference" or report.chosen_equals_rejected:
        cer = report.chosen_equals_rejected
        out.append(("chosen equals rejected", f"{len(cer)}: {_where(cer)}" if cer else "ok", bool(cer)))
    if report.placeholders:
        text = ", ".join(f"{k} ({v} rows)" for k, v in report.placeholders.items())
        out.append(("template placeholders", text, True))
    if report.eval_label:
        ov = report.overlap
        text = (
            f"{len(ov)} of {report.eval_rows} eval rows: {_where(ov)}"
            if ov
            else f"none ({report.eval_rows} eval rows)"
        )
        out.append(("train/eval overlap", text, bool(ov)))
    lens = report.lengths
    if lens and lens.lengths:
        sampled = f", sampled {len(lens.lengths)} rows" if lens.sampled else ""
        text = f"p50 {lens.percentile(50)}  p95 {lens.percentile(95)}  max {lens.longest}  ({lens.tokenizer}{sampled})"
        out.append(("tokens", text, False))
        over = lens.over
        text = (
            f"{len(over)} rows would be truncated: {_where(over)}; longest {lens.longest_at.short if lens.longest_at else '?'} "
            f"({lens.longest} tokens)"
            if over
            else "ok"
        )
        out.append((f"over max_length {lens.max_length}", text, bool(over)) if lens.max_length else ("max_length", "none (no truncation)", False))
    return out + verdict_lines(report)
