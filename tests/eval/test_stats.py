"""Differences with their uncertainty and per-item flips (engine/eval/stats.py), against hand-computed
cases; the table's interval and drop marks; what a run cost (engine/runs/cost.py)."""

from __future__ import annotations

import math

import pytest

from tailor.engine.eval.results import EvalResults, ModelResult
from tailor.engine.eval.stats import (
    Difference,
    count_flips,
    difference,
    differences,
    mcnemar,
    paired_bootstrap,
)
from tailor.engine.eval.table import build_table, fmt_interval, title, to_csv
from tailor.engine.runs.cost import cost_cells, run_cost
from tailor.engine.runs.status import RunState, Status


def test_mcnemar_exact_p_by_hand() -> None:
    # b=1 fail→pass, c=9 pass→fail: p = 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
    assert mcnemar(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar(9, 1) == mcnemar(1, 9)
    assert mcnemar(0, 0) == 1.0 and mcnemar(5, 5) == 1.0
    assert mcnemar(0, 6) == pytest.approx(2 / 64)  # every changed item went one way: 2 * 0.5^6


def test_paired_bootstrap_interval_by_hand() -> None:
    # every item gains exactly 1: no resample can differ, the interval is the point
    assert paired_bootstrap([0.0] * 20, [1.0] * 20) == (1.0, 1.0, 1.0)
    # 50 of 100 items flip 0 -> 1: delta 0.5, the resampled share of flips is Binomial(100, .5)/100,
    # whose 95% range is 0.5 ± 1.96 * sqrt(.25/100) = 0.402 .. 0.598
    delta, low, high = paired_bootstrap([0.0] * 50 + [1.0] * 50, [1.0] * 100, samples=4000)
    assert delta == 0.5 and low == pytest.approx(0.40, abs=0.015) and high == pytest.approx(0.60, abs=0.015)
    # pairing matters: the same two score lists shuffled against each other give a wider interval
    unpaired = paired_bootstrap([0.0, 1.0] * 50, [1.0, 0.0] * 25 + [1.0, 1.0] * 25)
    assert unpaired[2] - unpaired[1] > high - low


def test_a_difference_whose_interval_spans_zero_is_not_significant() -> None:
    base = [{"exact_match": 1.0}] * 3 + [{"exact_match": 0.0}] * 3
    # item 0 pass→fail, items 3 and 4 fail→pass: +1/6 on six items, well within noise
    model = [{"exact_match": 0.0}, {"exact_match": 1.0}, {"exact_match": 1.0}] + [{"exact_match": 1.0}] * 2 + [{"exact_match": 0.0}]
    d = difference("exact_match", base, model)
    assert d is not None and d.delta == pytest.approx(1 / 6) and not d.significant
    assert d.p == pytest.approx(mcnemar(2, 1)) == 1.0
    assert fmt_interval("exact_match", d).endswith("n.s.")


def test_token_weighted_loss_and_perplexity() -> None:
    base = [{"loss": 2.0, "tokens": 1}, {"loss": 4.0, "tokens": 3}]
    model = [{"loss": 1.0, "tokens": 1}, {"loss": 3.0, "tokens": 3}]
    d = difference("eval_loss", base, model)
    assert d is not None and d.delta == pytest.approx(-1.0) and d.low == d.high == pytest.approx(-1.0)
    p = difference("perplexity", base, model)
    assert p is not None and p.delta == pytest.approx(math.exp(2.5) - math.exp(3.5))
    assert difference("f1", base, model) is None  # macro F1 is no per-item mean: no interval


def test_flips_sort_items_into_the_two_by_two_table() -> None:
    records = [
        {"index": 0, "scores": {"a": {"exact_match": 0.0}, "b": {"exact_match": 1.0}}},
        {"index": 1, "scores": {"a": {"exact_match": 1.0}, "b": {"exact_match": 0.0}}},
        {"index": 2, "scores": {"a": {"exact_match": 1.0}, "b": {"exact_match": 1.0}}},
        {"index": 3, "scores": {"a": {"exact_match": 0.0}, "b": {"exact_match": 0.0}}},
        {"index": 4, "scores": {"a": {"exact_match": 0.0}, "b": {"exact_match": 1.0}}},
        {"index": 5, "scores": {"a": {"exact_match": 0.0}}},  # b never answered it: left out
    ]
    f = count_flips("task", "exact_match", "a", "b", records)
    assert (f.fail_to_pass, f.pass_to_fail, f.both_pass, f.both_fail) == ([0, 4], [1], 1, 1)
    assert f.to_json()["mcnemar_p"] == mcnemar(2, 1)
    canary = count_flips("mmlu-dev", "canary/mmlu-dev", "a", "b",
                         [{"index": 0, "scores": {"a": {"pass": 1.0}, "b": {"pass": 0.0}}}])
    assert canary.pass_to_fail == [0]


def test_the_table_shows_intervals_and_marks_canary_drops() -> None:
    items = [{"base": {"exact_match": 0.0, "pass": 1.0}, "ft": {"exact_match": 1.0, "pass": 0.0}}] * 10
    found = differences(["exact_match"], "base", ["base", "ft"], items)
    canary = differences(["canary/mmlu-dev"], "base", ["base", "ft"], items)
    res = EvalResults(task="generation", metrics=["exact_match", "canary/mmlu-dev"],
                      higher_is_better={"exact_match": True, "canary/mmlu-dev": True}, baseline="base",
                      models=[ModelResult("base", "base", "base", "tiny", metrics={"exact_match": 0.0, "canary/mmlu-dev": 1.0}),
                              ModelResult("ft", "ft", "run", "ft", metrics={"exact_match": 1.0, "canary/mmlu-dev": 0.0})],
                      differences={"ft": {**{k: v.to_json() for k, v in found["ft"].items()},
                                          **{k: v.to_json() for k, v in canary["ft"].items()}}})
    row = build_table(res).row("ft")
    assert row.intervals["exact_match"] == Difference(1.0, 1.0, 1.0, 10, mcnemar(10, 0))
    assert row.drops == {"canary/mmlu-dev"} and title("canary/mmlu-dev") == "⚑mmlu-dev %"
    assert fmt_interval("exact_match", row.intervals["exact_match"]) == "(100.0 to 100.0)"
    assert "exact_match_low" in to_csv(build_table(res)).splitlines()[0]


def test_what_a_run_cost() -> None:
    status = Status(run_id="r", kind="sft", state=RunState.SUCCEEDED, started_at=1000.0, ended_at=1000.0 + 1800)
    events = [
        {"type": "metric", "split": "train", "values": {"loss": 1.0, "num_tokens": 5000.0}},
        {"type": "summary", "values": {"train_runtime": 1500.0, "train_tokens": 6000.0, "gpus": 2}},
    ]
    cost = run_cost(status, events)
    assert (cost.wall_s, cost.tokens, cost.tokens_per_s, cost.gpus, cost.gpu_hours) == (1800.0, 6000.0, 4.0, 2, 1.0)
    assert cost_cells(cost) == {"wall": cost_cells(cost)["wall"], "tokens": "6.0k", "tok/s": "4", "GPU-h": "1.00"}
    cpu = run_cost(status, [{"type": "summary", "values": {"train_runtime": 10.0, "gpus": 0}}])
    assert cpu.gpu_hours is None and cpu.tokens is None and cost_cells(cpu)["GPU-h"] == "-"
