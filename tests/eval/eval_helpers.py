"""Fixed evaluation results written to disk, for table, CLI and screen tests (no model needed)."""

from __future__ import annotations

import time
from pathlib import Path

from tailor.engine.eval.results import EvalResults, ModelResult, write_results
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

METRICS = ["eval_loss", "exact_match", "token_f1", "chrf"]


def sample_results(run_id: str = "eval-fixed-20260101-000000-abcd") -> tuple[EvalResults, list[dict]]:
    hib = {"eval_loss": False, "exact_match": True, "token_f1": True, "chrf": True}
    models = [
        ModelResult("base", "base (zero-shot)", "base", "tailor/tiny", metrics={"eval_loss": 4.0, "exact_match": 0.1, "token_f1": 0.2, "chrf": 10.0}),
        ModelResult("base-2shot", "base (2-shot)", "base", "tailor/tiny", shots=2, metrics={"eval_loss": 3.5, "exact_match": 0.2, "token_f1": 0.3, "chrf": 20.0}),
        ModelResult("sft-a", "sft-a", "run", "sft-a", run_id="sft-a", metrics={"eval_loss": 0.5, "exact_match": 0.9, "token_f1": 0.95, "chrf": 90.0}),
        ModelResult("sft-b", "sft-b", "run", "sft-b", run_id="sft-b", metrics={"eval_loss": 0.4, "exact_match": 0.8, "token_f1": 0.85, "chrf": None}),
    ]
    res = EvalResults("generation", METRICS, hib, models, baseline="base", primary="token_f1", examples=6, run_id=run_id)
    words = ["abcd", "efgh", "ijkl", "mnop", "qrst", "uvwx"]
    outputs = {
        "base": ["x", "y", "z", "hgfe", "x", "x"],
        "base-2shot": ["dcba", "y", "z", "x", "x", "x"],
        "sft-a": ["dcba", "hgfe", "lkji", "ponm", "tsrq", "wxvu"],
        "sft-b": ["dcba", "hgef", "lkji", "ponm", "qrst", "wvxu"],
    }
    preds = []
    for i, w in enumerate(words):
        ref = w[::-1]
        scores = {}
        for mid, outs in outputs.items():
            em = float(outs[i] == ref)
            scores[mid] = {"exact_match": em, "token_f1": em, "loss": 1.0 - em}
        preds.append(
            {"index": i, "prompt": f"Reverse: {w}", "reference": ref, "outputs": {m: o[i] for m, o in outputs.items()}, "scores": scores}
        )
    return res, preds


def write_eval_run(runs_dir: Path, run_id: str = "eval-fixed-20260101-000000-abcd") -> RunDir:
    """A finished eval run with fixed results (as a real eval run leaves it)."""
    status = Status(run_id=run_id, kind="eval", name="eval-fixed", state=RunState.SUCCEEDED, created_at=1_767_225_600.0,
                    started_at=1_767_225_600.0, ended_at=1_767_225_660.0, host="test")
    run = RunDir.create(runs_dir, run_id, "kind: eval\ndata: [x.jsonl]\n", status)
    status.state = RunState.SUCCEEDED
    run.write_status(status)
    res, preds = sample_results(run_id)
    res.created_at = time.time()
    write_results(run.eval_dir, res, preds)
    return run
