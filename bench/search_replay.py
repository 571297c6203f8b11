"""Choose pruner settings offline: replay bench/search.py's study against recorded learning curves.

    .venv/bin/python bench/search_replay.py [--seeds 0,1] [--cache bench/search_curves.json] [--record]
        [--sampler n_startup_trials=3,multivariate=1] PRUNER [PRUNER ...]

A trial of the bench task is deterministic in its parameters (r, learning rate; seeded training) and its
eval cadence does not change its training, so one run with an evaluation after every step gives the eval
loss the trial would report at any step. This script replays the bench's study in memory (same TPE
sampler, seed and space as bench/search.py) with each PRUNER and each seed, reporting the recorded values
at the eval schedule and counting the steps trained, as the real search would. A trial whose parameters
have no recorded curve yet is listed; with ``--record`` those are trained (real search workers, pruner
none, eval every step) and the replay repeats until every trial it needs is recorded. The real bench
confirms the winner. PRUNER is ``type[:key=value,...]``:
``sh:min=4,rf=3,rate=0,boot=0,every=4`` (SuccessiveHalvingPruner; ``every`` = eval_steps, ``at=2+4+12`` =
extra eval steps), ``hb:min=4,rf=3,every=4``, ``median:startup=2,warmup=0,every=5``,
``wilcoxon:p=0.1,startup=2,every=1``, ``percentile:p=25,startup=1,warmup=8,every=4``,
``patient:patience=1,min=4,every=4`` (PatientPruner around successive halving), ``none:every=5`` (the unpruned
search the others are measured against), and ``oracle:every=4``: not a real pruner but the floor of what
pruning can save, it knows every trial's final loss from the curves and stops, at its first evaluation,
each trial that will not end better than the best finished one (a real pruner's reports lead the sampler
to other draws, so this is the floor for the draws the oracle gets). Each seed's line counts ``records``:
the trials that ended better than every finished trial before them, which train to the end under any
pruner that keeps the best so far. bench/search_curves.json holds the curves docs/search.md's figures were
replayed from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import optuna  # noqa: E402
from search import recipe_text  # noqa: E402  (bench/search.py: the task is frozen there)

STEPS = 40


def parse_pruner(text: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = text.partition(":")
    opts = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
    return kind, opts


def schedule(opts: dict[str, str]) -> list[int]:
    every = int(opts.get("every", 5))
    steps = set(range(every, STEPS + 1, every)) | {STEPS}
    steps |= {int(s) for s in opts.get("at", "").split("+") if s}
    return sorted(steps)


def make_pruner(kind: str, opts: dict[str, str], curves: dict[str, dict[int, float]]):
    import optuna

    every = int(opts.get("every", 5))
    if kind == "sh":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=int(opts.get("min", every)), reduction_factor=int(opts.get("rf", 3)),
            min_early_stopping_rate=int(opts.get("rate", 0)), bootstrap_count=int(opts.get("boot", 0)))
    if kind == "hb":
        return optuna.pruners.HyperbandPruner(
            min_resource=int(opts.get("min", every)), max_resource=STEPS, reduction_factor=int(opts.get("rf", 3)))
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(opts.get("startup", 2)),
                                           n_warmup_steps=int(opts.get("warmup", 0)))
    if kind == "percentile":
        return optuna.pruners.PercentilePruner(float(opts.get("p", 25)), n_startup_trials=int(opts.get("startup", 1)),
                                               n_warmup_steps=int(opts.get("warmup", 0)))
    if kind == "patient":
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        inner = optuna.pruners.SuccessiveHalvingPruner(min_resource=int(opts.get("min", every)),
                                                       reduction_factor=int(opts.get("rf", 3)))
        return optuna.pruners.PatientPruner(inner, patience=int(opts.get("patience", 1)))
    if kind == "oracle":
        return Oracle(curves)
    if kind == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=float(opts.get("p", 0.1)), n_startup_steps=int(opts.get("startup", 2)))
    return optuna.pruners.NopPruner()


class Oracle(optuna.pruners.BasePruner):
    """Knows each trial's final loss (its recorded curve): prunes at once any trial that will not beat the
    best finished trial. No real pruner can do better with the same evaluations (short of changing what
    the sampler draws next), so its steps are a floor for the search's cost."""

    def __init__(self, curves: dict[str, dict[int, float]]):
        self._curves = curves

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        done = [t.value for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
        return bool(done) and self._curves[key(trial.params)][STEPS] >= min(done)


def key(params: dict) -> str:
    return f"{params['r']}|{params['learning_rate']!r}"


def replay(recipe, seed: int, pruner_text: str, curves: dict[str, dict[int, float]], trials: int) -> dict:
    import optuna

    from tailor.engine.search.space import suggest
    from tailor.engine.search.study import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    kind, opts = parse_pruner(pruner_text)
    recipe = recipe.model_copy(update={"seed": seed})
    # Hyperband assigns trials to brackets by a hash of the study name: the bench's name for it.
    study = optuna.create_study(study_name="bench-hyperband" if kind == "hb" else None, sampler=make_sampler(recipe),
                                pruner=make_pruner(kind, opts, curves), direction="minimize")
    at = schedule(opts)
    steps = 0
    missing: list[dict] = []
    for _ in range(trials):
        trial = study.ask()
        values = suggest(trial, recipe)
        params = {"r": values["r"], "learning_rate": values["learning_rate"]}
        curve = curves.get(key(params))
        if curve is None:
            missing.append(params)
            break  # what follows depends on this trial
        for step in at:
            trial.report(curve[step], step)
            if trial.should_prune():
                steps += step
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            steps += STEPS
            study.tell(trial, curve[STEPS])
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(done, key=lambda t: t.value) if done else None
    finals = [curves[key(t.params)][STEPS] for t in study.trials if key(t.params) in curves]
    records = sum(v < min(finals[:i], default=float("inf")) for i, v in enumerate(finals))
    return {"steps": steps, "records": records, "best": best.value if best else None, "params": best.params if best else None,
            "missing": missing, "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
            "complete": len(done)}


def record(ws, recipe_path_dir: Path, params: list[dict], curves: dict, cache: Path, batch: int) -> None:
    """Train each parameter set once (real search workers, eval every step) and add its curve."""
    from tailor.engine.executors.local import LocalExecutor
    from tailor.engine.search.launch import load_search_recipe
    from tailor.engine.search.storage import resolve_url
    from tailor.engine.search.study import load_study, open_study

    name = f"record-{batch}"
    args = argparse.Namespace(seed=0, trials=len(params), eval_steps=1, steps=STEPS)
    path = recipe_path_dir / f"{name}.yaml"
    path.write_text(recipe_text(name, args, {"type": "none"}))
    recipe = load_search_recipe(path)
    study, _ = open_study(recipe, ws.root)
    for p in params:
        study.enqueue_trial(p)
    executor = LocalExecutor(ws)
    status = executor.control.launch(path)
    run = ws.run(status.run_id)
    print(f"recording {len(params)} curves: {status.run_id}", flush=True)
    while not (status := run.effective_status()).state.terminal:
        time.sleep(2)
    if status.state.value != "succeeded":
        raise SystemExit(f"record: {status.state.value}: {status.error} (see {run.stderr_file})")
    study = load_study(name, resolve_url(None, ws.root))
    for t in study.get_trials(deepcopy=False):
        curves[key(t.params)] = {int(s): float(v) for s, v in t.intermediate_values.items()}
    cache.write_text(json.dumps({k: {str(s): v for s, v in c.items()} for k, c in curves.items()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pruners", nargs="+")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tailor-search-curves.json")
    parser.add_argument("--record", action="store_true", help="train the missing curves and replay again")
    parser.add_argument("--sampler", default="", metavar="KEY=VALUE,...",
                        help="TPE settings instead of the bench's, for the unpruned search too: n_startup_trials=3,multivariate=1")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="tailor-replay-"))
    os.environ.setdefault("TAILOR_CACHE", str(root / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from tailor.engine.search.launch import load_search_recipe
    from tailor.engine.workspace import Workspace

    ws = Workspace(root / "ws").ensure()
    path = Path(ws.recipes_dir) / "replay.yaml"
    path.write_text(recipe_text("replay", argparse.Namespace(seed=0, trials=args.trials, eval_steps=5, steps=STEPS),
                                {"type": "none"}))
    recipe = load_search_recipe(path)
    if args.sampler:  # the bench's sampler with other TPE settings (it changes what every search draws)
        update = {k: int(v) if k == "n_startup_trials" else v.lower() in ("1", "true") for k, v in parse_pruner(f"x:{args.sampler}")[1].items()}
        recipe = recipe.model_copy(update={"sampler": recipe.sampler.model_copy(update=update)})
    raw = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    curves = {k: {int(s): v for s, v in c.items()} for k, c in raw.items()}
    seeds = [int(s) for s in args.seeds.split(",")]
    batch = 0
    while True:
        results = {(p, s): replay(recipe, s, p, curves, args.trials) for p in args.pruners for s in seeds}
        missing = {key(m): m for r in results.values() for m in r["missing"]}
        if not missing or not args.record:
            break
        record(ws, Path(ws.recipes_dir), list(missing.values()), curves, args.cache, batch)
        batch += 1
    base = {s: results.get(("none:every=5", s)) for s in seeds}
    for (p, s), r in results.items():
        ref = base.get(s)
        extra = ""
        if ref and r["best"] is not None and ref["best"] and not ref["missing"]:
            extra = f"  {r['steps'] / ref['steps']:.1%} steps, gap {(r['best'] - ref['best']) / ref['best']:+.2%}"
        miss = f"  MISSING {len(r['missing'])}" if r["missing"] else ""
        best = f"{r['best']:.4f}" if r["best"] is not None else "-"
        print(f"seed {s} {p:40} steps {r['steps']:4} complete {r['complete']:2} pruned {r['pruned']:2} "
              f"records {r['records']:2} best {best} {r['params']}{extra}{miss}")
    for p in args.pruners:  # the mean over the seeds, where every seed replayed to the end
        rows = [(results[(p, s)], base[s]) for s in seeds]
        if len(seeds) > 1 and all(ref and not ref["missing"] and not r["missing"] and r["best"] for r, ref in rows):
            ratio = sum(r["steps"] / ref["steps"] for r, ref in rows) / len(rows)
            gap = sum((r["best"] - ref["best"]) / ref["best"] for r, ref in rows) / len(rows)
            print(f"mean over seeds {p:32} {ratio:.1%} steps, gap {gap:+.2%}")
    print(f"curves recorded: {len(curves)} ({args.cache})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
