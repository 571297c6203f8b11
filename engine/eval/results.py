"""The stored form of an evaluation, and reading it back for tables. Light: stdlib only.

Under a run's ``eval/`` folder::

    results.json       {"schema": "tailor-eval/1", task, metrics, higher_is_better, baseline, models: [...]}
    predictions.jsonl  one line per held-out example: prompt, reference, each model's output and scores

Both are rewritten atomically after every model, so a failed evaluation keeps the models it finished.
See docs/evaluation.md for the fields.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailor.engine.errors import RunError
from tailor.engine.fsutil import atomic_write_json, atomic_write_text

SCHEMA = "tailor-eval/1"
RESULTS = "results.json"
PREDICTIONS = "predictions.jsonl"
CANARIES = "canaries.jsonl"  # per canary item: task, doc_id, prompt, reference, each model's output and pass


@dataclass
class ModelResult:
    """One row of the table: a model (base zero-shot, base k-shot, a run, an adapter) and its metrics."""

    id: str
    label: str
    kind: str  # "base" | "run" | "adapter" | "trial"
    source: str  # model name, run id or adapter path
    shots: int = 0
    run_id: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    seconds: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ModelResult:
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        return cls(**known)


@dataclass
class EvalResults:
    task: str
    metrics: list[str]
    higher_is_better: dict[str, bool]
    models: list[ModelResult] = field(default_factory=list)
    baseline: str | None = None  # the model id deltas are computed against
    primary: str | None = None  # the per-example score used to rank disagreements
    examples: int = 0
    data: list[str] = field(default_factory=list)
    labels: list[str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    # {model id: {metric: {delta, low, high, n, p, significant}}}: each row against the baseline, with a 95%
    # paired-bootstrap interval over items (engine/eval/stats.py)
    differences: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    path: Path | None = None  # the eval/ folder it was read from

    def model(self, model_id: str) -> ModelResult:
        for m in self.models:
            if m.id == model_id:
                return m
        raise KeyError(model_id)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("models", "path")}
        out["schema"] = SCHEMA
        out["models"] = [m.to_json() for m in self.models]
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], path: Path | None = None) -> EvalResults:
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj and k not in ("models", "path")}
        res = cls(**known)
        res.models = [ModelResult.from_json(m) for m in obj.get("models", [])]
        res.path = path
        return res


# -- writing ------------------------------------------------------------------------------------


def write_results(eval_dir: Path, results: EvalResults, examples: list[dict[str, Any]] | None = None,
                  canaries: list[dict[str, Any]] | None = None) -> None:
    """Write results.json (and predictions.jsonl / canaries.jsonl when given), each atomically."""
    eval_dir = Path(eval_dir)
    eval_dir.mkdir(parents=True, exist_ok=True)
    for name, records in ((PREDICTIONS, examples), (CANARIES, canaries)):
        if records is not None:
            text = "".join(json.dumps(ex, ensure_ascii=False, default=str) + "\n" for ex in records)
            atomic_write_text(eval_dir / name, text)
    atomic_write_json(eval_dir / RESULTS, results.to_json())


# -- reading ------------------------------------------------------------------------------------


def eval_dir_of(path: str | Path | Any) -> Path:
    """A run folder (or RunDir), its eval/ folder or a results.json -> the eval folder."""
    path = Path(getattr(path, "path", path))
    if path.is_file():
        return path.parent
    if (path / RESULTS).exists():
        return path
    return path / "eval"


def has_results(path: str | Path) -> bool:
    return (eval_dir_of(path) / RESULTS).is_file()


def load_results(path: str | Path) -> EvalResults:
    folder = eval_dir_of(path)
    file = folder / RESULTS
    try:
        obj = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{file}: no evaluation results here (run `tailor eval RECIPE` first)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{file}: unreadable evaluation results: {exc}") from None
    if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
        raise RunError(f"{file}: not a Tailor evaluation (expected schema {SCHEMA!r})")
    return EvalResults.from_json(obj, folder)


def iter_predictions(path: str | Path, name: str = PREDICTIONS) -> Iterator[dict[str, Any]]:
    """Per-example records (of predictions.jsonl, or ``name``: canaries.jsonl), streamed (never the whole
    file in memory)."""
    file = eval_dir_of(path) / name
    try:
        fh = file.open(encoding="utf-8")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def prediction(path: str | Path, index: int, name: str = PREDICTIONS) -> dict[str, Any] | None:
    """One example by its index (streams the file; eval sets are small)."""
    for ex in iter_predictions(path, name):
        if ex.get("index") == index:
            return ex
    return None


def score_delta(a: Any, b: Any) -> float | None:
    """``b - a`` for two per-example scores; None when either is not a number or the difference is NaN
    (inf - inf), an infinity when an int is beyond a float: a hand-edited file must not break a view."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b)):
        return None
    try:
        delta = float(b) - float(a)
    except OverflowError:
        return math.inf if b > a else -math.inf
    return None if math.isnan(delta) else delta


def score_gap(a: Any, b: Any) -> float:
    """|a - b|, 0 when there is no difference to speak of (see ``score_delta``)."""
    delta = score_delta(a, b)
    return 0.0 if delta is None else abs(delta)


def disagreements(path: str | Path, a: str, b: str, score: str | None = None) -> list[tuple[int, float]]:
    """Example indices ordered by how much models ``a`` and ``b`` disagree, most first.

    The gap is |score_a - score_b| on the per-example ``score`` (the task's primary one by default);
    examples with different outputs but equal scores follow, then identical outputs (gap 0).
    """
    if score is None:
        score = load_results(path).primary or "token_f1"
    out: list[tuple[int, float, float]] = []
    for ex in iter_predictions(path):
        sa = (ex.get("scores") or {}).get(a, {}).get(score)
        sb = (ex.get("scores") or {}).get(b, {}).get(score)
        gap = score_gap(sa, sb)
        outs = ex.get("outputs") or {}
        differs = 1.0 if outs.get(a) != outs.get(b) else 0.0
        out.append((int(ex.get("index", len(out))), gap, differs))
    out.sort(key=lambda t: (-t[1], -t[2], t[0]))
    return [(i, gap) for i, gap, _ in out]


class PredictionIndex:
    """Random access to predictions.jsonl by example index: one pass records each line's byte offset.

    The Evals screen lists examples from the small summaries it keeps here and reads a full example
    (prompt, reference, outputs) only when it is shown, so a large eval set never sits in memory.
    """

    def __init__(self, path: str | Path, a: str, b: str, score: str | None, name: str = PREDICTIONS) -> None:
        self.file = eval_dir_of(path) / name
        self.a, self.b, self.score = a, b, score
        self.offsets: dict[int, int] = {}
        self.rows: list[dict[str, Any]] = []  # index, gap, differs, score_a, score_b, prompt (first 200 chars)
        with self.file.open("rb") as fh:
            while True:
                offset = fh.tell()
                line = fh.readline()
                if not line:
                    break
                try:
                    ex = json.loads(line)
                except ValueError:
                    continue
                i = int(ex.get("index", len(self.rows)))
                self.offsets[i] = offset
                self.rows.append(self._summary(i, ex))

    def _summary(self, i: int, ex: dict[str, Any]) -> dict[str, Any]:
        scores = ex.get("scores") or {}
        sa = scores.get(self.a, {}).get(self.score) if self.score else None
        sb = scores.get(self.b, {}).get(self.score) if self.score else None
        outs = ex.get("outputs") or {}
        gap = score_gap(sa, sb)
        return {
            "index": i,
            "gap": gap,
            "differs": outs.get(self.a) != outs.get(self.b),
            "score_a": sa,
            "score_b": sb,
            "prompt": str(ex.get("prompt", ""))[:200],
        }

    def by_disagreement(self) -> list[dict[str, Any]]:
        return sorted(self.rows, key=lambda r: (-r["gap"], not r["differs"], r["index"]))

    def by_index(self) -> list[dict[str, Any]]:
        return sorted(self.rows, key=lambda r: r["index"])

    def get(self, index: int) -> dict[str, Any] | None:
        offset = self.offsets.get(index)
        if offset is None:
            return None
        with self.file.open("rb") as fh:
            fh.seek(offset)
            return json.loads(fh.readline())


def find_evaluations(runs_dir: str | Path) -> list[tuple[Path, float]]:
    """Every run folder under ``runs_dir`` with stored results, newest first, as (eval folder, mtime)."""
    out = []
    try:
        entries = list(Path(runs_dir).iterdir())
    except OSError:
        return []
    for run in entries:
        file = run / "eval" / RESULTS
        try:
            out.append((file.parent, file.stat().st_mtime))
        except OSError:
            continue
    out.sort(key=lambda t: -t[1])
    return out
