"""The models x metrics table, shared by ``tailor eval`` and the Evals screen. Light: stdlib only.

Rows are models, columns are metrics; each cell carries its value, the delta against the baseline (base
zero-shot) and whether it is the best of its column (respecting lower-is-better metrics such as loss).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from tailor.engine.eval.results import EvalResults, ModelResult
from tailor.engine.eval.stats import CANARY_PREFIX, Difference, is_canary
from tailor.engine.recipes.eval_metrics import METRICS

# One display scale for every score: fractions (EM, F1, accuracy, win rate...) and sacrebleu's 0-100
# scores (BLEU, chrF) are all shown as 0-100 with a "%" in the column name, so EM 0.9 beside chrF 90 no
# longer reads as a regression. Stored values (results.json, CSV) keep their native scale.
PERCENT_SCALES = {"fraction": 100.0, "0-100": 1.0}


def title(metric: str) -> str:
    """The column name, saying the scale: ``EM %`` (0-100), ``loss`` (nats), ``ppl``; canaries (the
    forgetting guard) are marked ``⚑``: ``⚑mmlu-dev %``."""
    if is_canary(metric):
        return f"⚑{metric[len(CANARY_PREFIX):]} %"
    info = METRICS.get(metric)
    if info is None:
        return metric
    return f"{info.title} %" if info.scale in PERCENT_SCALES else info.title


def shown(metric: str, value: float) -> float:
    """``value`` on the display scale of ``metric``."""
    if is_canary(metric):
        return value * 100.0
    info = METRICS.get(metric)
    return value * PERCENT_SCALES.get(info.scale, 1.0) if info else value


def score_metric(key: str) -> str:
    """The metric a per-example score key belongs to (``correct`` -> accuracy, ``win`` -> win_rate...)."""
    if key in METRICS:
        return key
    return next((m.name for m in METRICS.values() if m.per_example == key and m.scale in PERCENT_SCALES), key)


def _percent(metric: str) -> bool:
    if is_canary(metric):
        return True
    info = METRICS.get(metric)
    return info is not None and info.scale in PERCENT_SCALES


@dataclass
class Row:
    id: str
    label: str
    kind: str
    values: dict[str, float | None]
    deltas: dict[str, float | None] = field(default_factory=dict)
    best: set[str] = field(default_factory=set)
    is_baseline: bool = False
    error: str | None = None
    # each delta's 95% paired-bootstrap interval (and McNemar p) against the baseline, where stored
    intervals: dict[str, Difference] = field(default_factory=dict)
    # canary columns where this fine-tune is worse than the base (the forgetting guard's highlight)
    drops: set[str] = field(default_factory=set)


@dataclass
class Table:
    metrics: list[str]
    rows: list[Row]
    higher_is_better: dict[str, bool]
    baseline: str | None = None
    sort_by: str | None = None
    descending: bool = True

    def row(self, model_id: str) -> Row:
        for r in self.rows:
            if r.id == model_id:
                return r
        raise KeyError(model_id)


def _num(v: object) -> float | None:
    """A finite float, else None (NaN, infinities, ints beyond a float and text are no score)."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        try:
            return float(v) if math.isfinite(v) else None
        except OverflowError:
            return None
    return None


def merge(results: list[EvalResults]) -> EvalResults:
    """Several evaluations in one table: model ids and labels are prefixed with their run when they clash."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    metrics: list[str] = []
    hib: dict[str, bool] = {}
    models: list[ModelResult] = []
    seen: set[str] = set()
    for res in results:
        metrics += [m for m in res.metrics if m not in metrics]
        hib.update(res.higher_is_better)
        for m in res.models:
            mid = m.id if m.id not in seen else f"{res.run_id}/{m.id}"
            label = m.label if m.id not in seen else f"{res.run_id}: {m.label}"
            seen.add(mid)
            models.append(ModelResult(**{**m.__dict__, "id": mid, "label": label}))
    return EvalResults(
        # intervals compare rows over the same items: only the first evaluation's rows (ids unchanged) keep them
        differences=dict(first.differences),
        task=first.task if all(r.task == first.task for r in results) else "mixed",
        metrics=metrics,
        higher_is_better=hib,
        models=models,
        baseline=first.baseline,
        primary=first.primary,
        examples=first.examples,
        run_id=first.run_id,
    )


def build_table(
    results: EvalResults,
    *,
    sort_by: str | None = None,
    descending: bool | None = None,
    text_filter: str = "",
    metrics: list[str] | None = None,
) -> Table:
    """Rows with deltas vs the baseline and best-per-column marks; sorted and filtered as asked.

    ``descending=None`` sorts best first for the metric (ascending for lower-is-better ones). The filter
    matches model id, label or kind (case-insensitive); best marks are computed before filtering so they
    do not move while typing a filter.
    """
    cols = [m for m in (metrics or results.metrics) if m in results.metrics]
    hib = {m: results.higher_is_better.get(m, True) for m in cols}
    base = next((m for m in results.models if m.id == results.baseline), None)
    rows: list[Row] = []
    for m in results.models:
        values = {c: _num(m.metrics.get(c)) for c in cols}
        deltas: dict[str, float | None] = {}
        for c in cols:
            b = _num(base.metrics.get(c)) if base else None
            v = values[c]
            deltas[c] = None if base is None or m is base or v is None or b is None else v - b
        stored = results.differences.get(m.id, {}) if base is not None and m is not base else {}
        intervals = {c: Difference.from_json(stored[c]) for c in cols if c in stored}
        drops = {c for c in cols if is_canary(c) and (d := deltas.get(c)) is not None and d < 0}
        rows.append(Row(m.id, m.label, m.kind, values, deltas, is_baseline=m is base, error=m.error,
                        intervals=intervals, drops=drops))
    for c in cols:
        present = [v for r in rows if (v := r.values[c]) is not None]
        if len(present) < 2:
            continue
        best = max(present) if hib[c] else min(present)
        if all(v == best for v in present):
            continue  # a tie everywhere is no "best"
        for r in rows:
            v = r.values[c]
            if v is not None and math.isclose(v, best, rel_tol=1e-12, abs_tol=1e-12):
                r.best.add(c)
    needle = text_filter.strip().lower()
    if needle:
        rows = [r for r in rows if needle in f"{r.id} {r.label} {r.kind}".lower()]
    if sort_by:
        if sort_by not in cols and sort_by not in ("model", "label"):
            raise KeyError(sort_by)
        if sort_by in ("model", "label"):
            rows.sort(key=lambda r: r.label.lower(), reverse=bool(descending))
        else:
            desc = hib[sort_by] if descending is None else descending
            valued = [r for r in rows if r.values[sort_by] is not None]
            missing = [r for r in rows if r.values[sort_by] is None]
            valued.sort(key=lambda r: r.values[sort_by] or 0.0, reverse=desc)  # never None here
            rows = valued + missing  # missing values always last
    return Table(cols, rows, hib, results.baseline, sort_by, True if descending is None else descending)


# -- formatting ---------------------------------------------------------------------------------


def fmt_value(metric: str, value: float | None) -> str:
    """A cell on the metric's display scale (scores 0-100 with one decimal)."""
    if value is None:
        return "-"
    value = _num(value) if not isinstance(value, float) else value
    if value is None or not math.isfinite(value):  # a prediction's own score may be anything
        return "-" if value is None else str(value)
    if _percent(metric):
        return f"{shown(metric, value):.1f}"
    if metric == "perplexity":
        return f"{value:.3g}" if value < 1000 else f"{value:.2e}"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.4g}"


def fmt_delta(metric: str, delta: float | None) -> str:
    if delta is None:
        return ""
    if not math.isfinite(delta):
        return f"{delta:+}"  # +inf / -inf
    if _percent(metric):
        return f"{shown(metric, delta):+.1f}"
    if metric == "perplexity":
        return f"{delta:+.3g}"
    return f"{delta:+.4f}"


def fmt_interval(metric: str, diff: Difference | None) -> str:
    """``(1.2 to 6.8)`` on the metric's display scale, with ``n.s.`` when it contains zero (the difference
    may be noise); empty when no interval was computed."""
    if diff is None:
        return ""
    lo, hi = (shown(metric, diff.low), shown(metric, diff.high)) if _percent(metric) else (diff.low, diff.high)
    digits = ".1f" if _percent(metric) else (".3g" if metric == "perplexity" else ".4f")
    text = f"({lo:{digits}} to {hi:{digits}})"
    return text if diff.significant else f"{text} n.s."


def delta_is_good(table: Table, metric: str, delta: float | None) -> bool | None:
    """True when the delta is an improvement over the baseline, False when worse, None when neither."""
    if delta is None or delta == 0:
        return None
    return (delta > 0) == table.higher_is_better.get(metric, True)


def to_csv(table: Table) -> str:
    """One row per model: value and delta-vs-baseline columns for every metric."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["model", "label", "kind"]
    for c in table.metrics:
        head += [c, f"{c}_delta", f"{c}_low", f"{c}_high"]
    writer.writerow(head)
    for r in table.rows:
        line: list[str] = [r.id, r.label, r.kind]
        for c in table.metrics:
            v, d, iv = r.values.get(c), r.deltas.get(c), r.intervals.get(c)
            line += ["" if v is None else repr(v), "" if d is None else repr(d),
                     "" if iv is None else repr(iv.low), "" if iv is None else repr(iv.high)]
        writer.writerow(line)
    return buf.getvalue()


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table: best per column in bold, deltas vs the baseline in parentheses."""
    head = ["model", *[f"{title(c)} {'↑' if table.higher_is_better.get(c, True) else '↓'}" for c in table.metrics]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.metrics)) + "|"]
    for r in table.rows:
        cells = [_md_escape(r.label + (" (baseline)" if r.is_baseline else ""))]
        for c in table.metrics:
            text = fmt_value(c, r.values.get(c))
            if c in r.best:
                text = f"**{text}**"
            delta = fmt_delta(c, r.deltas.get(c))
            if delta and (iv := fmt_interval(c, r.intervals.get(c))):
                delta = f"{delta} {iv}"
            if c in r.drops:
                delta = f"▼ {delta}"
            cells.append(f"{text} ({delta})" if delta else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")
