"""The one-line verdict of a data check: "ok", "ok, with warnings", or the refusal training would give.

Shared by ``tailor data check`` and the Datasets screen, so both say exactly what the launch would say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tailor.engine.data.quality import QualityReport

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


def lines(report: QualityReport) -> list[tuple[str, str, bool]]:
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
