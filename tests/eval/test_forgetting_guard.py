"""Did fine-tuning help, and what did it break (issue 28) on the tiny model: the demo fine-tune's own-task
gain with its 95% interval, the per-item flips (engine and ``tailor eval RUN --flips``) and the canary rows
(lm-evaluation-harness: MMLU dev questions and HumanEval, offline) for the base and the fine-tune.

The trained run comes from the session fixture in conftest.py (one short real SFT run).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_eval_runs import eval_in_process

from tailor.engine.eval.flips import find_flips
from tailor.engine.eval.results import CANARIES, iter_predictions, load_results
from tailor.engine.eval.table import build_table, to_markdown

pytestmark = pytest.mark.slow

CANARY_LIMIT = 8  # items per canary: enough to exercise lm-eval end to end, cheap on 2 cores


@pytest.fixture(scope="module")
def guarded(trained):
    """The demo evaluation with the forgetting guard on: base zero-shot and the fine-tune, 40 items."""
    run = eval_in_process(trained.workspace, {
        "name": "guard", "data": "../data/reverse/eval.jsonl", "runs": [trained.run.run_id],
        "few_shot": {"k": 0}, "max_examples": 40, "generation": {"max_new_tokens": 8, "batch_size": 20},
        "canaries": ["mmlu-dev", "humaneval"], "canary_limit": CANARY_LIMIT, "canary_max_new_tokens": 32,
    }, name="guard")
    return trained, run, load_results(run)


def test_the_fine_tunes_own_gain_has_an_interval_that_excludes_zero(guarded) -> None:
    trained, _run, res = guarded
    rid = trained.run.run_id
    d = res.differences[rid]["exact_match"]
    em = res.model(rid).metrics["exact_match"] - res.model("base").metrics["exact_match"]
    assert d["delta"] == pytest.approx(em)
    assert 0 < d["low"] <= d["delta"] <= d["high"] <= 1 and d["significant"]
    assert d["p"] is not None and d["p"] < 0.001  # McNemar: ~30 items fail→pass, none back
    assert "eval_loss" in res.differences[rid] and "token_f1" in res.differences[rid]
    table = build_table(res)
    assert table.row(rid).intervals["exact_match"].significant
    assert "(" in to_markdown(table).splitlines()[-1]  # the interval is printed beside the delta


def test_flips_count_the_items_that_changed_and_the_cli_twin_agrees(guarded) -> None:
    from tailor.tui.cli import cli

    trained, run, res = guarded
    rid = trained.run.run_id
    own, *canaries = find_flips(res, "base", rid)
    assert own.task == "task" and own.metric == "exact_match"
    preds = {p["index"]: p for p in iter_predictions(run)}
    assert len(own.fail_to_pass) == sum(p["scores"][rid]["exact_match"] == 1 and p["scores"]["base"]["exact_match"] == 0
                                        for p in preds.values()) > 10
    assert {c.task for c in canaries} == {"mmlu-dev", "humaneval"}
    assert all(c.both_pass + c.both_fail + len(c.fail_to_pass) + len(c.pass_to_fail) == CANARY_LIMIT for c in canaries)
    out = CliRunner().invoke(cli, ["-w", str(trained.workspace.root), "eval", run.run_id, "--flips", "base", rid, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [f.to_json() for f in find_flips(res, "base", rid)]
    text = CliRunner().invoke(cli, ["-w", str(trained.workspace.root), "eval", run.run_id, "--flips", "base", rid])
    assert f"fail→pass {len(own.fail_to_pass):>4}" in text.output and "#" in text.output


def test_canary_rows_for_the_base_and_the_fine_tune(guarded) -> None:
    trained, run, res = guarded
    rid = trained.run.run_id
    for mid in ("base", rid):
        m = res.model(mid).metrics
        assert 0.0 <= m["canary/mmlu-dev"] <= 1.0 and 0.0 <= m["canary/humaneval"] <= 1.0
    records = list(iter_predictions(run, CANARIES))
    assert len(records) == 2 * CANARY_LIMIT
    code = [r for r in records if r["task"] == "humaneval"]
    assert all(set(r["outputs"]) == {"base", rid} and r["metric"] == "pass@1" for r in code)
    assert "def " in code[0]["prompt"]  # HumanEval prompts: a function signature and its docstring
    table = build_table(res)
    drop = table.row(rid).deltas["canary/mmlu-dev"]
    assert ("canary/mmlu-dev" in table.row(rid).drops) == (drop is not None and drop < 0)
