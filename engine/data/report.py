"""The quality report of a dataset (``QualityReport``, filled in by engine/data/quality.py) and what it
concludes: the one-line verdict ("ok", "ok, with warnings", or the refusal training would give) that
``tailor data check``, the Datasets screen and a launch share. Light: the standard library and numpy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tailor.engine.data.formats import DESCRIPTIONS
from tailor.engine.data.records import Loc, Problem


@dataclass
class LengthStats:
    tokenizer: str
    max_length: int  # 0: the recipe sets none (nothing is truncated)
    lengths: list[int]
    sampled: bool = False
    over: list[Loc] = field(default_factory=list)
    longest_at: Loc | None = None
    unknown: int = 0  # tokens that are the tokenizer's unk token
    unknown_first: Loc | None = None

    @property
    def total(self) -> int:
        return sum(self.lengths)

    def percentile(self, q: float) -> int:
        return int(np.percentile(self.lengths, q)) if self.lengths else 0

    @property
    def longest(self) -> int:
        return max(self.lengths, default=0)

    def histogram(self, bins: int = 20) -> list[tuple[int, int, int]]:
        """(low, high, count) buckets of whole token counts, low and high inclusive."""
        if not self.lengths:
            return []
        lo, hi = min(self.lengths), max(self.lengths)
        step = max(1, -(-(hi - lo + 1) // bins))
        counts = np.bincount((np.asarray(self.lengths) - lo) // step)
        return [(lo + i * step, lo + (i + 1) * step - 1, int(c)) for i, c in enumerate(counts)]


@dataclass
class QualityReport:
    label: str
    format: str | None = None
    task: str = "sft"
    rows: int = 0
    malformed: list[Problem] = field(default_factory=list)
    invalid: list[Problem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    missing: Counter[str] = field(default_factory=Counter)
    empty: Counter[str] = field(default_factory=Counter)
    types: dict[str, Counter[str]] = field(default_factory=dict)
    exact_dups: list[tuple[Loc, Loc]] = field(default_factory=list)
    near_dups: list[tuple[Loc, Loc]] = field(default_factory=list)
    chosen_equals_rejected: list[Loc] = field(default_factory=list)
    placeholders: Counter[str] = field(default_factory=Counter)
    overlap: list[Loc] = field(default_factory=list)
    eval_label: str | None = None
    eval_rows: int = 0
    lengths: LengthStats | None = None
    multimodal: str | None = None  # "images at row 3"
    mixed: str | None = None  # "rows 1–2 alpaca, row 3 preference"
    template: str | None = None  # the chat template drops tools / tool calls / reasoning, or cannot be split
    trained: set[str] = field(default_factory=set)  # what the loss covers: "assistant turns", "completion"...
    user_trained: int = 0  # rows whose system and user turns are trained too (train_on: all)
    chat: bool = False  # the rows go through the chat template
    converted: list[tuple[dict[str, Any], Loc]] = field(default_factory=list, repr=False)

    @property
    def mixed_types(self) -> dict[str, Counter[str]]:
        return {c: t for c, t in self.types.items() if len([k for k in t if k != "null"]) > 1}

    @property
    def format_text(self) -> str:
        return DESCRIPTIONS.get(self.format or "", "unknown format")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.label,
            "format": self.format,
            "rows": self.rows,
            "malformed": [str(p) for p in self.malformed],
            "invalid": [str(p) for p in self.invalid],
            "missing_fields": dict(self.missing),
            "empty_fields": dict(self.empty),
            "mixed_types": {c: dict(t) for c, t in self.mixed_types.items()},
            "exact_duplicates": len(self.exact_dups),
            "near_duplicates": len(self.near_dups),
            "chosen_equals_rejected": [str(loc) for loc in self.chosen_equals_rejected],
            "placeholders": dict(self.placeholders),
            "multimodal": self.multimodal,
            "mixed_layouts": self.mixed,
            "template": self.template,
            "trained": sorted(self.trained),
            "user_turns_trained": self.user_trained,
        }
        out["verdict"] = verdict(self)
        if self.eval_label:
            out["eval"] = {"path": self.eval_label, "rows": self.eval_rows, "overlap": len(self.overlap)}
        if self.lengths:
            lens = self.lengths
            out["tokens"] = {
                "tokenizer": lens.tokenizer,
                "p50": lens.percentile(50),
                "p95": lens.percentile(95),
                "max": lens.longest,
                "max_length": lens.max_length,
                "over_max_length": len(lens.over),
                "sampled": lens.sampled,
                "histogram": lens.histogram(),
            }
        return out


# -- the verdict ------------------------------------------------------------------------------------
# The one-line verdict of a data check: "ok", "ok, with warnings", or the refusal training would give.
# Shared by ``tailor data check`` and the Datasets screen, so both say exactly what the launch would say.
UNKNOWN_SHARE = 0.05  # more than 5% unknown tokens: the tokenizer does not fit the text


def unknown_share(report: QualityReport) -> float:
    lens = report.lengths
    return lens.unknown / lens.total if lens and lens.total else 0.0


def warnings(report: QualityReport) -> list[str]:
    out = []
    lens = report.lengths
    share = unknown_share(report)
    if lens and share > UNKNOWN_SHARE:
        out.append(
            f"{share:.0%} of tokens are unknown to {lens.tokenizer}'s tokenizer (first at "
            f"{lens.unknown_first.short if lens.unknown_first else '?'}); the model cannot learn this text, "
            "use a model whose tokenizer covers its language"
        )
    if lens and lens.over:
        where = lens.longest_at.short if lens.longest_at else "?"
        after = " after the chat template" if report.chat else ""
        out.append(
            f"{len(lens.over)} rows exceed max_length {lens.max_length}{after} and will be "
            f"truncated (longest: {where}, {lens.longest} tokens)"
        )
    if report.user_trained:
        out.append(
            f"the system and user turns of {report.user_trained} rows are trained too (train_on: all); "
            "train_on: assistant trains only the assistant's turns"
        )
    return out


def trained_text(report: QualityReport) -> str | None:
    """What the loss covers for the checked model, e.g. "assistant turns" (None before token lengths)."""
    if not report.trained:
        return None
    return " and ".join(sorted(report.trained))


def refusal(report: QualityReport) -> str | None:
    """What training would refuse this data for (None: it would train)."""
    if report.rows == 0:
        return "the dataset has no rows"
    if report.multimodal:
        return f"this dataset is multimodal ({report.multimodal}); Tailor trains text-only models"
    if report.mixed:
        return (
            f"the rows mix layouts ({report.mixed}); put each layout in its own file, or set format: and "
            "data.on_invalid: skip"
        )
    if report.format is None:
        return f"cannot tell the format from the columns ({', '.join(report.columns[:8])}); set format:"
    if report.template:
        return report.template
    bad = report.malformed + report.invalid
    if bad or report.chosen_equals_rejected:
        first = str(bad[0]) if bad else f"{report.chosen_equals_rejected[0]}: chosen equals rejected"
        count = len(bad) + len(report.chosen_equals_rejected)
        return f"{count} rows unfit for training, first {first}; fix them or set data.on_invalid: skip"
    return None


def verdict(report: QualityReport) -> str:
    why = refusal(report)
    if why:
        return f"refused: {why}"
    notes = warnings(report)
    what = trained_text(report)
    ok = f"ok (trains {what})" if what else "ok"
    return f"{ok}, with warnings: " + "; ".join(notes) if notes else ok


def verdict_lines(report: QualityReport) -> list[tuple[str, str, bool]]:
    """Extra (label, value, is_a_problem) lines for the report summary."""
    out: list[tuple[str, str, bool]] = []
    if report.multimodal:
        out.append(("multimodal", report.multimodal, True))
    if report.mixed:
        out.append(("mixed layouts", report.mixed, True))
    if report.template:
        out.append(("chat template", report.template, True))
    what = trained_text(report)
    if what and report.lengths:
        out.append(("trained", f"{what} ({report.lengths.tokenizer})", report.user_trained > 0))
    if report.lengths and report.lengths.total:
        share = unknown_share(report)
        out.append(("unknown tokens", f"{share:.1%}", share > UNKNOWN_SHARE))
    text = verdict(report)
    out.append(("verdict", text, not text.startswith("ok") or ", with warnings" in text))
    return out
