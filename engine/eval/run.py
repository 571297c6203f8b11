"""``kind: eval`` worker entry (``run_eval``) and the end-of-training hook (``evaluate_after_training``).

Flow: read the held-out set, pick the task and metrics, list the candidates (base zero-shot, base
few-shot, runs, adapters, search trials), then evaluate them one at a time, rewriting ``eval/results.json``
and ``eval/predictions.jsonl`` after each, and finally let the judge (if any) compare every model's
answers with the base model's. Events: ``eval_model`` {model, label, metrics, seconds} per model, an
``artifact`` named ``eval`` at the end, and progress on status.json.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine import kinds
from tailor.engine.errors import DataError, TailorError, one_line
from tailor.engine.eval import metrics as M
from tailor.engine.eval.candidates import (
    Candidate,
    adapter_candidate,
    load_candidate,
    release,
    run_candidate,
    trial_candidates,
)
from tailor.engine.eval.data import read_examples, resolve_sources, training_sets
from tailor.engine.eval.evaluator import Evaluator, Outcome, choose_metrics, choose_task, primary_score
from tailor.engine.eval.prompts import Example, draw_shots
from tailor.engine.eval.results import EvalResults, ModelResult, write_results
from tailor.engine.eval.stats import canary_metric, is_canary
from tailor.engine.recipes import eval_metrics as C
from tailor.engine.recipes.eval import EvalRecipe, EvalSettings, EvaluateSpec
from tailor.engine.runs.lookup import is_latest, latest_run, run_recipe
from tailor.engine.workspace import workspace_of

if TYPE_CHECKING:
    from tailor.engine.eval.canaries import CanaryRunner
    from tailor.engine.recipes.common import ModelSpec
    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.worker.context import WorkerContext
    from tailor.engine.workspace import Workspace


def _recipe_dir(ctx: WorkerContext) -> Path | None:
    src = (getattr(ctx, "status", None) and ctx.status.links.get("recipe")) or None
    return Path(src).expanduser().parent if src else None


class Session:
    """One evaluation: examples, candidates and the growing results, written after every model."""

    def __init__(self, settings: EvalSettings, examples: list[Example], ctx: WorkerContext, data_label: list[str]) -> None:
        if settings.max_examples:
            examples = examples[: settings.max_examples]
        self.settings = settings
        self.examples = examples
        self.ctx = ctx
        self.task = choose_task(examples, settings.task)
        self.metrics = choose_metrics(self.task, settings.metrics, settings.judge is not None)
        refs = [ex.reference or "" for ex in examples]
        self.labels = settings.labels or (M.guess_labels(refs, max_labels=10_000) if self.task == "label" else None)
        if self.task == "label" and not self.labels:
            raise DataError("task label: set labels: [...] in the recipe (the references have fewer than 2 classes)")
        if self.task == "preference" and any(ex.chosen is None for ex in examples):
            raise DataError("task preference needs prompt/chosen/rejected data")
        self.results = EvalResults(
            task=self.task,
            metrics=self.metrics,
            higher_is_better={m: C.METRICS[m].higher_is_better for m in self.metrics},
            primary=primary_score(self.task, self.metrics),
            examples=len(examples),
            data=data_label,
            labels=self.labels,
            settings=settings.model_dump(mode="json", exclude={"kind", "name", "description"}),
            run_id=ctx.run.run_id,
        )
        self.records: list[dict[str, Any]] = []
        for i, ex in enumerate(examples):
            rec: dict[str, Any] = {"index": i, "prompt": ex.prompt_display, "reference": ex.reference, "outputs": {}, "scores": {}}
            if ex.chosen is not None:
                rec.update(chosen=ex.chosen, rejected=ex.rejected)
            self.records.append(rec)
        self.done_steps = 0
        self.total_steps = 0
        self.baseline_outputs: list[str] | None = None
        # the forgetting guard: canary columns beside the task's own, one per-item record per canary item
        self.canaries: CanaryRunner | None = None
        self.canary_records: dict[tuple[str, int], dict[str, Any]] = {}
        for spec in settings.canaries:
            key = canary_metric(spec.label)
            self.results.metrics.append(key)
            self.results.higher_is_better[key] = True

    def canary_runner(self) -> CanaryRunner | None:
        """Built on first use (writes the built-in canaries' data under eval/canaries/)."""
        if self.settings.canaries and self.canaries is None:
            from tailor.engine.eval.canaries import CanaryRunner

            self.canaries = CanaryRunner(self.settings.canaries, self.ctx.run.eval_dir / "canaries",
                                         _recipe_dir(self.ctx), self.settings.canary_limit, self.log,
                                         self.settings.canary_max_new_tokens)
        return self.canaries

    def log(self, message: str, level: str = "info") -> None:
        self.ctx.log(message, level)

    def save(self) -> None:
        self.results.differences = self._differences()
        canaries = sorted(self.canary_records.values(), key=lambda r: r["index"]) if self.canary_records else None
        write_results(self.ctx.run.eval_dir, self.results, self.records, canaries)

    def _differences(self) -> dict[str, dict[str, Any]]:
        """Every row's difference from the base, with its paired-bootstrap interval (engine/eval/stats.py)."""
        from tailor.engine.eval.stats import differences

        base = self.results.baseline
        if base is None:
            return {}
        ids = [m.id for m in self.results.models if not m.error]
        own = [m for m in self.results.metrics if not is_canary(m)]
        out: dict[str, dict[str, Any]] = {}
        found = differences(own, base, ids, [rec["scores"] for rec in self.records], seed=self.settings.seed)
        for spec in self.settings.canaries:
            key = canary_metric(spec.label)
            items = [rec["scores"] for rec in self.canary_records.values() if rec["task"] == spec.label]
            for mid, row in differences([key], base, ids, items, seed=self.settings.seed).items():
                found.setdefault(mid, {}).update(row)
        for mid, row in found.items():
            out[mid] = {metric: d.to_json() for metric, d in row.items()}
        return out

    def _progress(self, done: int, total: int) -> None:
        self.ctx.progress(self.done_steps + done, self.total_steps)

    def evaluate_all(self, candidates: list[Candidate], pool: list[Example]) -> None:
        """Evaluate every candidate in order (base rows first), saving after each."""
        n = len(self.examples)
        self.total_steps = n * len(candidates) + (n * (len(candidates) - 1) if self.settings.judge else 0)
        self.ctx.progress(0, self.total_steps)
        ev = Evaluator(self.examples, self.task, self.metrics, self.settings, self.labels,
                       progress=self._progress, should_stop=lambda: self.ctx.cancel_requested)
        self.results.baseline = next((c.id for c in candidates if c.kind == "base" and c.shots == 0), None)
        wants_reward = self.task == "preference" and {"reward_accuracy", "reward_margin"} & set(self.metrics)
        if wants_reward and self.results.baseline is None and candidates:
            # the implicit reward needs the base model's log-probs even when its row is not shown
            with _opened(Candidate("base", "base", "base", candidates[0].base.name_or_path, candidates[0].base), {}) as (model, tok):
                ev.ref_logps = ev.evaluate(model, tok).logps
        cache: dict[str, Any] = {}
        seed = self.settings.few_shot.seed if self.settings.few_shot else 0
        for cand in candidates:
            if self.ctx.cancel_requested:
                self.log("cancelled: the results so far are saved", "warning")
                return
            self.log(f"evaluating {cand.label}")
            start = time.monotonic()
            row = ModelResult(cand.id, cand.label, cand.kind, cand.source, cand.shots, cand.run_id)
            self.results.models.append(row)
            try:
                with _opened(cand, cache) as (model, tok):
                    shots = draw_shots(pool, cand.shots, seed, n) if cand.shots else None
                    ev_ref, ev.ref_logps = ev.ref_logps, (None if cand.kind == "base" else ev.ref_logps)
                    outcome = ev.evaluate(model, tok, shots)
                    ev.ref_logps = ev_ref
                    canaries = (self._canaries(cand, model, tok)
                                if not outcome.cancelled and cand.shots == 0 and self.canary_runner() is not None else {})
                if cand.id == self.results.baseline and outcome.logps:
                    ev.ref_logps = outcome.logps  # the reference for every later model's implicit reward
                if outcome.cancelled:
                    row.error = "cancelled"
                    self.save()
                    return
                self._store(cand, row, outcome)
                row.metrics.update(canaries)
            except TailorError as exc:
                row.error = str(exc)
                self.log(f"{cand.label}: {exc}", "error")
            row.seconds = round(time.monotonic() - start, 3)
            self.done_steps += n
            self.ctx.emit("eval_model", model=cand.id, label=cand.label, metrics=row.metrics, seconds=row.seconds, error=row.error)
            self.save()
        release(cache)
        if self.settings.judge and self.baseline_outputs is not None and not self.ctx.cancel_requested:
            self.judge()

    def _canaries(self, cand: Candidate, model: Any, tok: Any) -> dict[str, float | None]:
        """The canaries on this row's model (few-shot rows share the base weights and are skipped): their
        column values; per-item records kept for canaries.jsonl."""
        runner = self.canary_runner()
        assert runner is not None
        self.log(f"{cand.label}: canaries {', '.join(s.label for s in self.settings.canaries)}")
        values: dict[str, float | None] = {}
        for outcome in runner.run(model, tok, self.settings.generation.batch_size):
            values[canary_metric(outcome.name)] = outcome.value
            for item in outcome.items:
                rec = self.canary_records.get((outcome.name, item.doc_id))
                if rec is None:
                    rec = {"index": len(self.canary_records), "task": outcome.name, "doc_id": item.doc_id,
                           "metric": outcome.metric, "prompt": item.prompt, "reference": item.target,
                           "outputs": {}, "scores": {}}
                    self.canary_records[(outcome.name, item.doc_id)] = rec
                rec["outputs"][cand.id] = item.output
                rec["scores"][cand.id] = {"pass": item.passed}
        return values

    def _store(self, cand: Candidate, row: ModelResult, outcome: Outcome) -> None:
        row.metrics = dict(outcome.metrics)
        for rec, sc in zip(self.records, outcome.scores, strict=True):
            rec["scores"][cand.id] = sc
        if outcome.outputs is not None:
            for rec, out in zip(self.records, outcome.outputs, strict=True):
                rec["outputs"][cand.id] = out
            if cand.id == self.results.baseline:
                self.baseline_outputs = outcome.outputs
        shown = ", ".join(f"{k}={v:.4g}" for k, v in row.metrics.items() if isinstance(v, float))
        self.log(f"{cand.label}: {shown or 'no metrics'}")

    def judge(self) -> None:
        from tailor.engine.eval.judge import Judge
        from tailor.engine.models.loading import load_model, load_tokenizer

        assert self.settings.judge is not None and self.baseline_outputs is not None
        spec = self.settings.judge
        if spec.base_url:
            self.judge_endpoint(spec)
            return
        self.log(f"judging answers against the base with {spec.model.name_or_path}")
        from tailor.engine.eval.candidates import device

        judge = Judge(load_model(spec.model).to(device()).eval(), load_tokenizer(spec.model), spec.template, spec.max_length)

        def score(row: Any, verdicts: list[dict[str, Any]]) -> None:
            row.metrics["win_rate"] = M.win_rate([v["win"] for v in verdicts])

        self._judge_each(judge, score)
        del judge  # free the judge model before releasing the cache
        release(None)

    def judge_endpoint(self, spec: Any) -> None:
        """Judge with an OpenAI-compatible endpoint; unparsed verdicts are counted, logged and stored."""
        from tailor.engine.eval.judge_endpoint import EndpointJudge, summarise

        assert self.baseline_outputs is not None
        self.log(f"judging answers against the base with {spec.model.name_or_path} at {spec.base_url}")
        judge = EndpointJudge(spec.base_url, spec.model.name_or_path, api_key_env=spec.api_key_env,
                              template=spec.template, timeout=spec.timeout_s)
        unparsed_by_model: dict[str, int] = {}

        def score(row: Any, verdicts: list[dict[str, Any]]) -> None:
            row.metrics["win_rate"], unparsed = summarise(verdicts)
            unparsed_by_model[row.id] = unparsed
            if unparsed:
                seen = "; ".join(repr(r) for r in judge.unparsed_replies[:3])
                self.log(f"{row.label}: {unparsed} of {len(verdicts)} examples had an unparsable verdict "
                         f"(left out of win_rate, not guessed): {seen}", "warning")
            self.results.settings["judge_unparsed"] = unparsed_by_model

        self._judge_each(judge, score)

    def _judge_each(self, judge: Any, score: Callable[[Any, list[dict[str, Any]]], None]) -> None:
        """Each model's answers judged against the base's (``judge.compare``, both judges); ``score(row,
        verdicts)`` turns the verdicts into the row's metrics; progress, events and results saved per model."""
        prompts = [rec["prompt"] for rec in self.records]
        for row in self.results.models:
            if row.id == self.results.baseline or row.error or self.ctx.cancel_requested:
                continue
            outputs = [rec["outputs"].get(row.id, "") for rec in self.records]
            verdicts = judge.compare(prompts, outputs, self.baseline_outputs, progress=self._progress)
            for rec, v in zip(self.records, verdicts, strict=True):
                rec["scores"].setdefault(row.id, {}).update(v)
            score(row, verdicts)
            self.done_steps += len(prompts)
            self.ctx.emit("eval_model", model=row.id, label=row.label, metrics=row.metrics, seconds=row.seconds, error=None)
            self.save()

def _pool(settings: EvalSettings, base_dir: Path | None, fallback: list[Example] | None) -> list[Example]:
    fs = settings.few_shot
    if fs is None or fs.k <= 0:
        return []
    if fs.source:
        return read_examples(resolve_sources(fs.source, base_dir), what="few_shot.source")
    return fallback or []


def _quiet() -> None:
    """No progress bars in stderr.log: events are the interface."""
    import transformers

    transformers.utils.logging.set_verbosity_warning()
    transformers.utils.logging.disable_progress_bar()


def run_eval(recipe: EvalRecipe, ctx: WorkerContext) -> None:
    """The worker entry for ``kind: eval``."""
    from tailor.engine.eval.judge_endpoint import check_key

    check_key(recipe)  # on the worker's host, before any model loads or any request
    _quiet()
    base_dir = _recipe_dir(ctx)
    ws = workspace_of(ctx.run)
    candidates: list[Candidate] = []
    for ref in recipe.runs:
        if is_latest(ref) and latest_run(ws, ref) is None:
            ctx.log(f"runs: {ref}: no succeeded run to compare yet; showing the others", "warning")
            continue
        candidates.append(run_candidate(ws, ref, base_dir=base_dir))
    for ref in recipe.adapters:
        candidates.append(adapter_candidate(ref, recipe.model, base_dir=base_dir))
    for ref in recipe.trials:
        candidates += trial_candidates(ws, ref, recipe.top_trials, base_dir=base_dir)
    for c in candidates:
        if c.base.name_or_path != recipe.model.name_or_path:
            ctx.log(f"{c.label} was trained from {c.base.name_or_path}, not {recipe.model.name_or_path}", "warning")
    first_run = next((c.run_id for c in candidates if c.run_id), None)
    # The first run's own split: its training rows (the few-shot pool) and held-out rows (data.eval or
    # the rows data.eval_split took off), exactly as its trainer split them.
    wants_pool = bool(recipe.few_shot and recipe.few_shot.k > 0 and not recipe.few_shot.source)
    split = _run_split(ws, first_run, ctx) if first_run and (recipe.data is None or wants_pool) else None
    if recipe.data is not None:
        examples = read_examples(resolve_sources(recipe.data, base_dir), what="data")
        label = [s.path for s in recipe.data]
    elif split is not None and split[1]:
        examples, label = split[1], [f"held-out rows of {first_run}"]
    else:
        raise DataError(f"data: {first_run or 'the runs listed'} has no held-out rows (data.eval or data.eval_split); "
                        "give the held-out set with data: FILE")
    pool = _pool(recipe, base_dir, split[0] if split else None)
    pool = _without_held_out(pool, examples, ctx)
    session = Session(recipe, examples, ctx, label)
    candidates = _base_rows(recipe, recipe.model, pool, ctx) + candidates
    _unique_ids(candidates)
    session.evaluate_all(candidates, pool)
    session.save()
    ctx.artifact("eval", ctx.run.eval_dir / "results.json")
    _raise_if_all_failed(session)


def _base_rows(settings: EvalSettings, base: ModelSpec, pool: list[Example], ctx: WorkerContext, start: str | None = None) -> list[Candidate]:
    """The base model's rows; ``start`` names the run a merged fine-tune started from (its "base")."""
    name = start or base.name_or_path
    what = f"start {start}" if start else "base"
    rows = []
    if settings.zero_shot:
        rows.append(Candidate("base", f"{what} (zero-shot)", "base", name, base))
    fs = settings.few_shot
    if fs and fs.k > 0:
        if pool:
            k = min(fs.k, len(pool))
            rows.append(Candidate(f"base-{k}shot", f"{what} ({k}-shot)", "base", name, base, shots=k))
        else:
            ctx.log("few_shot: no examples to draw shots from (set few_shot.source); skipping the few-shot row", "warning")
    return rows


def _unique_ids(candidates: list[Candidate]) -> None:
    seen: dict[str, int] = {}
    for c in candidates:
        if c.id in seen:
            seen[c.id] += 1
            c.id = f"{c.id}#{seen[c.id]}"
        else:
            seen[c.id] = 1


def _run_split(ws: Workspace, run_id: str, ctx: WorkerContext) -> tuple[list[Example], list[Example]] | None:
    """(training rows, held-out rows) of a run, split as its trainer split them; None when unreadable."""
    try:
        recipe = run_recipe(ws.run(run_id))
        task = kinds.data_task_of(recipe) or "sft"
        return training_sets(recipe.data, task=task, seed=recipe.seed)
    except TailorError as exc:
        ctx.log(f"cannot read the data of {run_id}: {exc}", "warning")
        return None


def _key(example: Example) -> str:
    return json.dumps(example.prompt, sort_keys=True, ensure_ascii=False)


def _without_held_out(pool: list[Example], examples: list[Example], ctx: WorkerContext) -> list[Example]:
    """The few-shot pool minus any row whose prompt is a held-out prompt: a shot never shows the answer."""
    held_out = {_key(e) for e in examples}
    kept = [p for p in pool if _key(p) not in held_out]
    if len(kept) < len(pool):
        ctx.log(f"few_shot: left out {len(pool) - len(kept)} pool rows that are held-out prompts")
    return kept


def _raise_if_all_failed(session: Session) -> None:
    rows = session.results.models
    if rows and all(r.error and r.error != "cancelled" for r in rows):
        from tailor.engine.errors import RunError

        raise RunError(f"every model failed to evaluate; first: {rows[0].label}: {rows[0].error}")


# -- end of training ------------------------------------------------------------------------------


def check_evaluate(recipe: TrainableRecipe) -> EvaluateSpec | None:
    """The training recipe's ``evaluate:`` block, validated (None when absent)."""
    if not getattr(recipe, "evaluate", None):
        return None
    try:
        return EvaluateSpec.model_validate(recipe.evaluate)
    except Exception as exc:  # a ValidationError, made one line
        from tailor.engine.errors import RecipeError

        raise RecipeError(f"evaluate: {one_line(exc)}") from None


def evaluate_after_training(recipe: TrainableRecipe, ctx: WorkerContext, model: Any, tokenizer: Any) -> EvalResults | None:
    """Evaluate the model just trained (and its base, zero-/few-shot) on the recipe's eval set.

    Called by the sft/dpo trainers after the final save when ``recipe.evaluate`` is set. For PEFT models
    the base rows reuse the same weights with the adapter disabled, so nothing is loaded twice.
    Failures are logged, never fatal: the training itself succeeded.
    """
    spec = check_evaluate(recipe)
    if spec is None:
        return None
    try:
        return _evaluate_after_training(spec, recipe, ctx, model, tokenizer)
    except TailorError as exc:
        ctx.log(f"evaluation after training failed: {exc}", "error")
    except Exception as exc:  # never turn a finished training into a failed run
        import traceback

        traceback.print_exc()
        ctx.log(f"evaluation after training failed: {one_line(exc)}", "error")
    return None


def _evaluate_after_training(spec: EvaluateSpec, recipe: TrainableRecipe, ctx: WorkerContext, model: Any, tokenizer: Any) -> EvalResults:
    base_dir = _recipe_dir(ctx)
    task = kinds.data_task_of(recipe) or "sft"
    if task == "unpaired_preference" and not spec.data:
        raise DataError("evaluate: KTO data has no pairs or references to compare with; set evaluate.data to a "
                        "prompt/completion or prompt/chosen/rejected held-out set")
    train_rows: list[Example] = []
    eval_rows: list[Example] = []
    if spec.data:
        examples = read_examples(resolve_sources(spec.data, base_dir), system=recipe.data.system_prompt, what="evaluate.data")
    else:
        train_rows, eval_rows = training_sets(recipe.data, task=task, seed=recipe.seed)
        if not eval_rows:
            raise DataError("evaluate: no eval set; set data.eval or data.eval_split, or evaluate.data")
        examples = eval_rows
    if spec.few_shot and spec.few_shot.k > 0 and not spec.few_shot.source and not train_rows:
        try:  # the training rows as the trainer split them: never the rows data.eval_split held out
            train_rows = training_sets(recipe.data, task=task, seed=recipe.seed)[0]
        except DataError as exc:
            ctx.log(f"few_shot: cannot draw shots from the training data: {exc}", "warning")
    pool = _without_held_out(_pool(spec, base_dir, train_rows), examples, ctx)
    session = Session(spec, examples, ctx, [s.path for s in spec.data] if spec.data else ["data.eval"])
    run_id = ctx.run.run_id
    this = Candidate(run_id, f"this run ({run_id})", "run", run_id, recipe.model, path=ctx.run.adapter_dir, run_id=run_id)
    model.eval()
    if hasattr(model, "config"):
        model.config.use_cache = True  # training may have switched the KV cache off (gradient checkpointing)
    this.open = lambda: contextlib.nullcontext((model, tokenizer))
    peft = hasattr(model, "disable_adapter")
    merged_from = getattr(recipe, "from_run", None) if peft and getattr(recipe, "from_run_mode", "merge") == "merge" else None
    # without the adapter, a model trained on a merged from_run is that run's model, not the hub base
    bases = _base_rows(spec, recipe.model, pool, ctx, start=merged_from) if spec.base else []
    if peft:
        for b in bases:  # the base model is the same weights with the adapter switched off
            b.open = lambda: _without_adapter(model, tokenizer)
    session.evaluate_all([*bases, this], pool)
    session.save()
    ctx.artifact("eval", ctx.run.eval_dir / "results.json")
    return session.results


@contextlib.contextmanager
def _without_adapter(model: Any, tokenizer: Any) -> Iterator[tuple[Any, Any]]:
    with model.disable_adapter():
        yield model, tokenizer


@contextlib.contextmanager
def _opened(cand: Candidate, cache: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(model, tokenizer) for a candidate while it is evaluated; adapters are freed afterwards."""
    if cand.open is not None:
        with cand.open() as opened:
            yield opened
        return
    pair = load_candidate(cand, cache)
    try:
        yield pair
    finally:
        del pair  # drop this frame's reference before release() collects
        if cand.path is not None:
            release(None)
