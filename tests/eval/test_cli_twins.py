"""CLI twins of TUI views: compare, data show --row, data freq, data new-recipe, eval --pair, vocabulary."""

from __future__ import annotations

import json

from click.testing import CliRunner
from eval_helpers import write_eval_run

from tailor.tui.cli import cli


def _run(ws, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws.root), *args])


def test_eval_pair_prints_the_side_by_side_on_the_table_scale(workspace) -> None:
    run = write_eval_run(workspace.runs_dir)
    out = _run(workspace, "eval", run.run_id, "--pair", "base", "sft-a", "--examples", "3")
    assert out.exit_code == 0, out.output
    assert out.output.count("prompt:") == 3 and "EM % 100.0" in out.output and "EM % 0.0" in out.output
    assert out.output.startswith("#0 · |A−B| tok F1 % 100.0")  # the gap says what it is, on the table's scale
    rows = [json.loads(x) for x in _run(workspace, "eval", run.run_id, "--pair", "base", "sft-a", "--json").stdout.splitlines()]
    assert rows[0]["gap"] >= rows[-1]["gap"] and {"base", "sft-a"} <= set(rows[0])
    bad = _run(workspace, "eval", run.run_id, "--pair", "base", "nope")
    assert bad.exit_code == 2 and "no model 'nope'" in bad.output


def test_data_show_row_renders_the_trained_tokens(workspace) -> None:
    data = workspace.data_dir / "reverse" / "train.jsonl"
    out = _run(workspace, "data", "show", str(data), "--row", "1", "--json")
    assert out.exit_code == 0, out.output
    seq = json.loads(out.stdout.splitlines()[0])
    trained = "".join(s["text"] for s in seq["spans"] if s["trained"])
    first = json.loads(data.read_text().splitlines()[0])
    assert first["completion"][0]["content"] in trained and "Reverse:" not in trained  # completion-only loss
    assert seq["trained"] < seq["tokens"]
    bad = _run(workspace, "data", "show", str(data), "--row", "99999")
    assert bad.exit_code == 2 and "out of range" in bad.output


def test_data_freq_and_new_recipe(workspace) -> None:
    data = workspace.data_dir / "reverse-kto" / "train.jsonl"
    out = _run(workspace, "data", "freq", str(data), "label", "--json")
    assert out.exit_code == 0, out.output
    freq = json.loads(out.stdout)
    assert freq["total"] == 1000 and freq["distinct"] == 2 and sum(c for _, c in freq["top"]) == 1000
    bad = _run(workspace, "data", "freq", str(data), "nope")
    assert bad.exit_code == 2 and "no column 'nope'" in bad.output
    made = _run(workspace, "data", "new-recipe", str(data))
    assert made.exit_code == 0, made.output
    assert (workspace.recipes_dir / "train-dpo.yaml").exists() and "trainer: kto" in (workspace.recipes_dir / "train-dpo.yaml").read_text()


def test_compare_two_runs(workspace) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
    from tui_helpers import fixed_runs

    ids = fixed_runs(workspace)
    out = _run(workspace, "compare", ids[0], ids[1], "--json")
    assert out.exit_code == 0, out.output
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["run"] for r in rows] == [ids[0], ids[1]] and rows[0]["host"] == "local"
    text = _run(workspace, "compare", ids[0], ids[1]).output
    assert text.startswith("RUN") and "BEST EVAL LOSS" in text
    assert _run(workspace, "compare", ids[0]).exit_code == 2


def test_one_vocabulary_pruned_local_and_no_running_runs(workspace) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
    from tui_helpers import write_run

    from tailor.engine.runs.lookup import find_run
    from tailor.tui.widgets.run_data import RunInfo

    write_run(workspace, "trial-20260101-000000-aaaa", state="cancelled")
    run = find_run(workspace, "trial-20260101-000000-aaaa")
    status = run.read_status()
    status.trial_state = "pruned"  # as engine.search.trial writes it
    run.write_status(status)
    out = _run(workspace, "runs")
    line = next(x for x in out.stdout.splitlines() if "trial-" in x)
    assert " pruned " in f" {line} " and " local " in f" {line} " and "cancelled" not in line
    assert RunInfo(status.run_id, "local", run.read_status()).cells()["state"] == "pruned"  # the Runs screen
    assert "trial-" in _run(workspace, "runs", "--state", "pruned").stdout
    assert _run(workspace, "runs", "--state", "running").stdout.strip() == "no running runs"
