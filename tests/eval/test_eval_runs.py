"""Real evaluations on the tiny model: a trained adapter against the base, every task kind, the CLI.

The trained run comes from the session fixture in conftest.py (one short real SFT run).
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tailor.engine.errors import RunError
from tailor.engine.eval.results import iter_predictions, load_results
from tailor.engine.recipes.load import dump_recipe, load_recipe
from tailor.engine.runs.rundir import RunDir, new_run_id
from tailor.engine.runs.status import RunState, Status

pytestmark = pytest.mark.slow


def eval_in_process(ws, recipe: dict, name: str = "t") -> RunDir:
    """Run an eval recipe through run_eval in this process (a real run directory and WorkerContext)."""
    from tailor.engine.eval.run import run_eval
    from tailor.engine.worker.context import WorkerContext

    path = ws.recipes_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"kind": "eval", **recipe}, sort_keys=False))
    parsed = load_recipe(path)
    run_id = new_run_id(name, "eval")
    run = RunDir.create(ws.runs_dir, run_id, dump_recipe(parsed), Status(run_id=run_id, kind="eval", links={"recipe": str(path)}))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    ctx = WorkerContext(run)
    ctx.start()
    try:
        run_eval(parsed, ctx)
        ctx.finish(RunState.SUCCEEDED)
    except BaseException:
        ctx.finish(RunState.FAILED, "failed")
        raise
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return run


def metric(results, model_id: str, name: str) -> float:
    return results.model(model_id).metrics[name]


def test_end_of_training_evaluation_ranks_the_adapter_above_the_base(trained) -> None:
    res = load_results(trained.run)
    rid = trained.run.run_id
    assert [m.id for m in res.models] == ["base", "base-2shot", rid]
    assert res.baseline == "base" and res.task == "generation" and res.examples == 40
    em = {m.id: m.metrics["exact_match"] for m in res.models}
    assert em[rid] >= 0.5, em  # ~0.85 after 300 steps; the base never gets one right
    assert em[rid] > em["base"] and em[rid] > em["base-2shot"]
    assert metric(res, rid, "eval_loss") < metric(res, "base", "eval_loss")
    preds = list(iter_predictions(trained.run))
    assert len(preds) == 40 and set(preds[0]["outputs"]) == {"base", "base-2shot", rid}
    assert preds[0]["reference"] == preds[0]["prompt"].removeprefix("Reverse: ")[::-1]
    types = [e["type"] for e in trained.run.events()]
    assert types.count("eval_model") == 3 and any(e.get("name") == "eval" for e in trained.run.events())


def test_cli_eval_recipe_prints_the_table_and_the_adapter_beats_the_base(trained, tmp_path) -> None:
    from tailor.tui.cli import cli

    ws = trained.workspace
    recipe = ws.recipes_dir / "cmp.yaml"
    recipe.write_text(yaml.safe_dump({
        "kind": "eval", "name": "cmp", "data": "../data/reverse/eval.jsonl",
        "runs": ["latest:demo-sft"], "adapters": [str(trained.run.adapter_dir)],
        "few_shot": {"k": 2, "source": "../data/reverse/train.jsonl"},
        "max_examples": 30, "generation": {"max_new_tokens": 8},
    }))
    md = tmp_path / "table.md"
    result = CliRunner().invoke(cli, ["-w", str(ws.root), "eval", "cmp", "--md", str(md), "-q"])
    assert result.exit_code == 0, result.output
    rid = trained.run.run_id
    assert "deltas vs base" in result.output and rid in result.output
    run_id = result.output.split("evaluating in run ", 1)[1].split()[0]
    res = load_results(ws.run(run_id))
    assert [m.id for m in res.models] == ["base", "base-2shot", rid, "adapter:adapter"]
    assert metric(res, rid, "exact_match") >= 0.5
    assert metric(res, rid, "exact_match") > max(metric(res, "base", "exact_match"), metric(res, "base-2shot", "exact_match"))
    assert metric(res, "adapter:adapter", "exact_match") == metric(res, rid, "exact_match")  # same weights
    assert "**" in md.read_text()  # best per column in bold


def test_batched_left_padded_generation_matches_one_at_a_time(trained) -> None:
    from tailor.engine.eval.candidates import load_candidate, run_candidate
    from tailor.engine.eval.data import read_examples
    from tailor.engine.eval.generation import GenerationSettings, generate
    from tailor.engine.eval.prompts import render_prompt
    from tailor.engine.recipes.common import DataSource

    ws = trained.workspace
    cand = run_candidate(ws, trained.run.run_id)
    model, tok = load_candidate(cand)
    examples = read_examples([DataSource(path=str(ws.data_dir / "reverse" / "eval.jsonl"))])[:24]
    # mixed prompt lengths, so left padding really happens inside a batch
    prompts = [render_prompt(tok, ex, examples[(i + 1) % 24 : (i + 1) % 24 + i % 3]) for i, ex in enumerate(examples)]
    assert len({len(tok(p)["input_ids"]) for p in prompts}) > 1
    batched = generate(model, tok, prompts, GenerationSettings(max_new_tokens=8, batch_size=8))
    single = generate(model, tok, prompts, GenerationSettings(max_new_tokens=8, batch_size=1))
    assert batched == single
    assert tok.padding_side == "right"  # restored after generating


def test_preference_eval_with_reward_metrics_and_a_judge(trained) -> None:
    ws = trained.workspace
    run = eval_in_process(ws, {
        "data": "../data/reverse-preference/eval.jsonl", "runs": [trained.run.run_id],
        "few_shot": 0, "judge": {"model": "tailor/tiny"}, "max_examples": 24,
        "generation": {"max_new_tokens": 8},
    }, name="pref")
    res = load_results(run)
    rid = trained.run.run_id
    assert res.task == "preference"
    assert res.metrics == ["reward_accuracy", "reward_margin", "logp_accuracy", "logp_margin", "win_rate"]
    assert metric(res, rid, "reward_accuracy") >= 0.8  # the SFT run prefers the right reversal
    assert metric(res, rid, "reward_margin") > 0
    assert metric(res, rid, "logp_accuracy") > metric(res, "base", "logp_accuracy")
    assert res.model("base").metrics["reward_accuracy"] is None  # no implicit reward for the reference itself
    assert 0.0 <= metric(res, rid, "win_rate") <= 1.0
    ex = next(iter_predictions(run))
    assert {"logp_margin", "reward_margin", "win", "p_win"} <= set(ex["scores"][rid])
    assert ex["chosen"] == ex["reference"] and ex["rejected"]


def test_label_task_is_detected_and_scored(trained, tmp_path) -> None:
    ws = trained.workspace
    rows = []
    for i, word in enumerate(["abcd", "efgh", "ijkl", "mnop", "qrst", "uvwx", "bcde", "fghi"]):
        right = i % 2 == 0
        shown = word[::-1] if right else word
        rows.append({"prompt": f"Is {shown} the reverse of {word}?", "completion": "yes" if right else "no"})
    data = tmp_path / "labels.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = eval_in_process(ws, {"data": str(data), "few_shot": 0, "generation": {"max_new_tokens": 4}}, name="labels")
    res = load_results(run)
    assert res.task == "label" and res.labels == ["no", "yes"]
    assert res.metrics == ["eval_loss", "accuracy", "precision", "recall", "f1"]
    values = res.model("base").metrics
    assert all(0.0 <= values[m] <= 1.0 for m in ("accuracy", "precision", "recall", "f1"))
    assert all("correct" in ex["scores"]["base"] for ex in iter_predictions(run))


def test_cli_evaluates_runs_without_results_against_their_base(trained) -> None:
    from tailor.tui.cli import cli

    ws = trained.workspace
    copy_id = "copy-" + trained.run.run_id
    shutil.copytree(trained.run.path, ws.runs_dir / copy_id)
    (ws.runs_dir / copy_id / "eval" / "results.json").unlink()
    st = RunDir(ws.runs_dir / copy_id).read_status()
    RunDir(ws.runs_dir / copy_id).write_status(st.model_copy(update={"run_id": copy_id}))
    try:
        result = CliRunner().invoke(
            cli, ["-w", str(ws.root), "eval", copy_id, "-q", "-s", "max_examples=12", "-s", "few_shot.k=1", "--csv", "-"]
        )
    finally:  # the copy would be "the newest run" to the eval tests after this one (the Evals form's default)
        shutil.rmtree(ws.runs_dir / copy_id, ignore_errors=True)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("base,", "base-1shot,", f"{copy_id},"))]
    assert [line.split(",")[0] for line in lines] == ["base", "base-1shot", copy_id]


def test_bad_references_fail_with_one_line(trained) -> None:
    ws = trained.workspace
    with pytest.raises(RunError, match="no run 'nosuchrun'"):
        eval_in_process(ws, {"data": "../data/reverse/eval.jsonl", "runs": ["nosuchrun"], "few_shot": 0}, name="bad")
    run = eval_in_process(ws, {"data": "../data/reverse/eval.jsonl", "runs": ["latest:never-trained"],
                               "few_shot": 0, "max_examples": 4, "generation": {"max_new_tokens": 2}}, name="skip")
    assert [m.id for m in load_results(run).models] == ["base"]
    assert any("no succeeded run" in e.get("message", "") for e in run.events())
    assert Path(run.eval_dir / "predictions.jsonl").exists()
