"""Pruning pays: the demo search with the same seed, unpruned and with each pruner, side by side.

    .venv/bin/python bench/search.py [--trials 16] [--steps 40] [--eval-steps N] [--seed 0]
        [--pruners successive_halving,median,hyperband] [--reduction 3] [--baseline STEPS,BEST] [--keep]

The searches run through the real machinery (``tailor search`` workers, trial runs, SQLite study) in a
temporary workspace, one after the other, on the demo SFT task (tiny model, reverse-a-word). It prints the
total training steps and the best eval loss of each, and checks each pruner against the claims of
docs/search.md: at most 35% of the unpruned steps, a best objective within 1% of the unpruned best.
Exit status 0 when every pruner holds them, 1 otherwise. Deterministic: the sampler and training are
seeded, and the eval cadence does not move the unpruned figures (a trial trains the same whatever it is;
checked on every cadence by bench/search_replay.py), so ``--baseline`` may reuse them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The demo task, frozen here so that the figures do not move when recipes/demo-sft.yaml is edited:
# the tiny model learns to reverse 4-letter words (LoRA + trained head and embeddings, as in the demo).
BASE = {
    "kind": "sft",
    "name": "bench-base",
    "seed": 42,
    "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
    "method": "lora",
    "lora": {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "modules_to_save": ["lm_head", "embed_tokens"]},
    "data": {"train": "../data/reverse/train.jsonl", "eval": "../data/reverse/eval.jsonl"},
    "train": {
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 50,
        "learning_rate": 3.0e-3,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 5,
        "max_length": 64,
    },
}
SPACE = {
    "r": [4, 8, 16, 32],
    "learning_rate": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
    "lora_alpha": "2*r",
}


# Each pruner as the recipe's ``pruner:`` block. The claims every one is held to: at most MAX_STEPS of the
# unpruned search's training steps for a best objective within MAX_GAP of the unpruned best.
PRUNERS = {
    "median": lambda a: {"type": "median", "n_startup_trials": a.startup, "n_warmup_steps": a.warmup},
    "successive_halving": lambda a: {"type": "successive_halving", "reduction_factor": a.reduction},
    "hyperband": lambda a: {"type": "hyperband", "reduction_factor": a.reduction, "max_resource": a.steps},
}
MAX_STEPS, MAX_GAP = 0.35, 0.01


def recipe_text(name: str, args: argparse.Namespace, pruner: dict) -> str:
    import yaml

    data = {
        "kind": "search",
        "name": name,
        "seed": args.seed,
        "base": BASE,
        "space": SPACE,
        "n_trials": args.trials,
        "sampler": {"type": "tpe", "n_startup_trials": 4},
        "pruner": pruner,
        # Without --eval-steps, the search's default cadence: a tenth of max_steps (engine/search/space.py).
        **({"eval_steps": args.eval_steps} if args.eval_steps else {}),
        "trial_train": {"max_steps": args.steps, "logging_steps": args.eval_steps or max(1, args.steps // 10)},
    }
    return yaml.safe_dump(data, sort_keys=False)


def run_search(ws: object, name: str, args: argparse.Namespace, pruner: dict) -> dict:
    from tailor.engine.executors.local import LocalExecutor
    from tailor.engine.search.storage import resolve_url
    from tailor.engine.search.study import counts, load_study

    path = Path(ws.recipes_dir) / f"{name}.yaml"  # type: ignore[attr-defined]
    path.write_text(recipe_text(name, args, pruner))
    executor = LocalExecutor(ws)  # type: ignore[arg-type]
    started = time.monotonic()
    status = executor.control.launch(path)
    print(f"{name}: search run {status.run_id} ...", flush=True)
    run = ws.run(status.run_id)  # type: ignore[attr-defined]
    while not (status := run.effective_status()).state.terminal:
        time.sleep(2)
    if status.state.value != "succeeded":
        raise SystemExit(f"{name}: search {status.state.value}: {status.error} (see {run.stderr_file})")
    study = load_study(name, resolve_url(None, ws.root))  # type: ignore[attr-defined]
    trials = study.get_trials(deepcopy=False)
    c = counts(trials)
    return {
        "name": name,
        "trials": len(trials),
        "complete": c.complete,
        "pruned": c.pruned,
        "failed": c.failed,
        "steps": sum(int(t.user_attrs.get("steps") or 0) for t in trials),
        "best": study.best_value,
        "best_params": study.best_trial.params,
        "wall": time.monotonic() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--steps", type=int, default=40, help="max_steps of each trial")
    parser.add_argument("--eval-steps", type=int, default=None,
                        help="eval (pruning check) every N steps (default: the search's, a tenth of --steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup", type=int, default=2, help="median pruner: n_startup_trials")
    parser.add_argument("--warmup", type=int, default=0, help="median pruner: n_warmup_steps")
    parser.add_argument("--reduction", type=int, default=3, help="successive_halving, hyperband: reduction_factor")
    parser.add_argument("--pruners", default="successive_halving",
                        help=f"comma-separated, each against the same unpruned search: {', '.join(PRUNERS)}")
    parser.add_argument("--baseline", default=None, metavar="STEPS,BEST",
                        help="skip the unpruned search: its total steps and best objective from an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="tailor-bench-search-"))
    os.environ.setdefault("TAILOR_CACHE", str(root / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: no OpenMP spinning on shared cores
    from tailor.engine.runs.format import duration
    from tailor.engine.workspace import Workspace

    ws = Workspace(root / "ws").ensure()
    if args.baseline:  # the unpruned figures of an earlier run with the same settings (it is deterministic)
        steps, best = args.baseline.split(",")
        unpruned = {"name": "unpruned", "complete": args.trials, "pruned": 0, "steps": int(steps),
                    "best": float(best), "best_params": "(earlier run)", "wall": 0.0}
    else:
        unpruned = run_search(ws, "bench-unpruned", args, {"type": "none"})
    pruned = [run_search(ws, f"bench-{name}", args, PRUNERS[name](args)) for name in args.pruners.split(",")]

    print()
    every = args.eval_steps or max(1, args.steps // 10)
    print(f"demo task, {args.trials} trials of {args.steps} steps (eval every {every}), TPE seed {args.seed}")
    print(f"{'':28}{'complete':>9}{'pruned':>8}{'total steps':>13}{'best eval_loss':>16}{'wall':>9}")
    ok = True
    for row in (unpruned, *pruned):
        label = "unpruned" if row is unpruned else row["name"].removeprefix("bench-")
        print(
            f"{label:28}{row['complete']:>9}{row['pruned']:>8}{row['steps']:>13}{row['best']:>16.4f}"
            f"{duration(row['wall']):>9}"
        )
    for row in pruned:
        ratio = row["steps"] / max(unpruned["steps"], 1)
        gap = (row["best"] - unpruned["best"]) / abs(unpruned["best"])
        holds = ratio <= MAX_STEPS and gap <= MAX_GAP
        ok = ok and holds
        print(f"{row['name'].removeprefix('bench-')}: {ratio:.1%} of the unpruned steps (claim: <= {MAX_STEPS:.0%}), "
              f"best {gap:+.2%} from the unpruned best (claim: within {MAX_GAP:.0%}): {'holds' if holds else 'fails'}")
    print(f"best params: unpruned {unpruned['best_params']}, " + ", ".join(f"{r['name']} {r['best_params']}" for r in pruned))
    print("PASS" if ok else "FAIL")
    if args.keep:
        print(f"workspace kept: {ws.root}")
    else:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
