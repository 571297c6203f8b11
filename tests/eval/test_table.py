"""Stored results, the models x metrics table, exports and the `tailor eval RUN` table (no model needed)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from eval_helpers import sample_results, write_eval_run

from tailor.engine.errors import RunError
from tailor.engine.eval import results as R
from tailor.engine.eval.table import build_table, delta_is_good, merge, to_csv, to_markdown


def test_results_round_trip_and_predictions_stream(tmp_path) -> None:
    res, preds = sample_results()
    R.write_results(tmp_path / "eval", res, preds)
    back = R.load_results(tmp_path)
    assert back.to_json() == {**res.to_json(), "created_at": back.created_at}
    assert back.model("sft-a").metrics["exact_match"] == 0.9
    assert [p["index"] for p in R.iter_predictions(tmp_path)] == list(range(6))
    assert R.prediction(tmp_path, 3)["reference"] == "ponm"
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["schema"] == R.SCHEMA


def test_load_results_errors_are_one_line(tmp_path) -> None:
    with pytest.raises(RunError, match="no evaluation results"):
        R.load_results(tmp_path)
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "results.json").write_text("{not json")
    with pytest.raises(RunError, match="unreadable"):
        R.load_results(tmp_path)


def test_table_deltas_best_per_column_sort_and_filter() -> None:
    res, _ = sample_results()
    table = build_table(res)
    assert [r.id for r in table.rows] == ["base", "base-2shot", "sft-a", "sft-b"]
    a = table.row("sft-a")
    assert a.deltas["exact_match"] == pytest.approx(0.8)
    assert a.deltas["eval_loss"] == pytest.approx(-3.5)
    assert table.row("base").deltas["exact_match"] is None and table.row("base").is_baseline
    assert "exact_match" in a.best and "chrf" in a.best
    assert "eval_loss" in table.row("sft-b").best  # lower is better for loss
    assert delta_is_good(table, "eval_loss", -3.5) is True
    assert delta_is_good(table, "exact_match", -0.1) is False
    by_loss = build_table(res, sort_by="eval_loss")
    assert [r.id for r in by_loss.rows] == ["sft-b", "sft-a", "base-2shot", "base"]  # best (lowest) first
    by_chrf = build_table(res, sort_by="chrf")
    assert by_chrf.rows[-1].id == "sft-b"  # a missing value always sorts last
    filtered = build_table(res, text_filter="SFT")
    assert [r.id for r in filtered.rows] == ["sft-a", "sft-b"]
    assert "exact_match" in filtered.row("sft-a").best
    with pytest.raises(KeyError):
        build_table(res, sort_by="nope")


def test_csv_and_markdown_exports() -> None:
    res, _ = sample_results()
    table = build_table(res)
    rows = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert [r["model"] for r in rows] == ["base", "base-2shot", "sft-a", "sft-b"]
    assert float(rows[2]["exact_match"]) == 0.9 and float(rows[2]["exact_match_delta"]) == pytest.approx(0.8)
    assert rows[0]["exact_match_delta"] == "" and rows[3]["chrf"] == ""
    md = to_markdown(table).splitlines()
    assert md[0].startswith("| model | loss ↓ | EM % ↑")  # every score on one 0-100 scale
    assert md[1] == "|---|---:|---:|---:|---:|"
    assert "**90.0** (+80.0)" in md[4] and "(baseline)" in md[2]


def test_disagreements_rank_examples_by_score_gap(tmp_path) -> None:
    res, preds = sample_results()
    R.write_results(tmp_path / "eval", res, preds)
    order = R.disagreements(tmp_path, "sft-a", "sft-b")
    assert {i for i, gap in order if gap == 1.0} == {1, 4}  # only there one is right and the other wrong
    assert order[:2] == [(1, 1.0), (4, 1.0)]
    assert order[2][0] == 5  # different outputs, same score, before identical ones


def test_merge_prefixes_clashing_model_ids() -> None:
    a, _ = sample_results("run-a")
    b, _ = sample_results("run-b")
    merged = merge([a, b])
    ids = [m.id for m in merged.models]
    assert ids[:4] == ["base", "base-2shot", "sft-a", "sft-b"] and ids[4] == "run-b/base"
    assert len(set(ids)) == 8


def test_cli_prints_stored_table_and_exports(workspace, tmp_path) -> None:
    from tailor.tui.cli import cli

    run = write_eval_run(workspace.runs_dir)
    md = tmp_path / "t.md"
    result = CliRunner().invoke(
        cli, ["-w", str(workspace.root), "eval", run.run_id[:10], "--csv", "-", "--md", str(md), "--sort", "exact_match"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "deltas vs base" in out and "sft-a" in out and "+80.0" in out
    assert out.index("sft-a") < out.index("base (2-shot)")  # sorted by exact match, best first
    assert "model,label,kind,eval_loss" in out
    assert md.read_text().startswith("| model |")
    bad = CliRunner().invoke(cli, ["-w", str(workspace.root), "eval", run.run_id, "--sort", "bleu"])
    assert bad.exit_code == 2 and "no metric 'bleu'" in bad.output
    missing = CliRunner().invoke(cli, ["-w", str(workspace.root), "eval", "no-such-run"])
    assert missing.exit_code == 2 and "error: no run 'no-such-run'" in missing.output
    js = CliRunner().invoke(cli, ["-w", str(workspace.root), "eval", run.run_id, "--json"])
    assert json.loads(js.output)["baseline"] == "base"
