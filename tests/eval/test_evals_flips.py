"""Pilot tests of the Evals screen's uncertainty and flips (issue 28) on fixed stored results: the n.s.
and drop marks, the highlighted row's intervals, and the flips list (key f) opening an item side by side;
the CLI twin gives the same counts."""

from __future__ import annotations

import json

from click.testing import CliRunner
from eval_helpers import sample_results
from tui_helpers import make_app, wait_until

from tailor.engine.eval.flips import find_flips
from tailor.engine.eval.results import load_results, write_results
from tailor.engine.eval.stats import differences
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

RUN = "eval-guard-20260101-000000-abcd"


def write_guarded_run(runs_dir):
    """The fixed results plus a canary (sft-a forgets 2 of 4 MMLU items the base knew) and the intervals."""
    status = Status(run_id=RUN, kind="eval", name="eval-guard", state=RunState.SUCCEEDED, created_at=1_767_225_600.0,
                    started_at=1_767_225_600.0, ended_at=1_767_225_660.0, host="test")
    run = RunDir.create(runs_dir, RUN, "kind: eval\ndata: [x.jsonl]\n", status)
    res, preds = sample_results(RUN)
    key = "canary/mmlu-dev"
    res.metrics = [*res.metrics, key]  # a copy: sample_results shares its metric list
    res.higher_is_better = {**res.higher_is_better, key: True}
    passes = {"base": [1, 1, 0, 1], "base-2shot": [1, 1, 0, 1], "sft-a": [0, 0, 0, 1], "sft-b": [1, 1, 1, 1]}
    canaries = [{"index": i, "task": "mmlu-dev", "doc_id": i, "metric": "acc", "prompt": f"Question {i}?", "reference": "A",
                 "outputs": {m: "A" if p[i] else "B" for m, p in passes.items()},
                 "scores": {m: {"pass": float(p[i])} for m, p in passes.items()}} for i in range(4)]
    for m in res.models:
        m.metrics[key] = sum(passes[m.id]) / 4
    ids = [m.id for m in res.models]
    found = differences(res.metrics, "base", ids, [p["scores"] for p in preds])
    for mid, row in differences([key], "base", ids, [c["scores"] for c in canaries]).items():
        found.setdefault(mid, {}).update(row)
    res.differences = {mid: {k: d.to_json() for k, d in row.items()} for mid, row in found.items()}
    write_results(run.eval_dir, res, preds, canaries)
    return run


async def test_flips_list_opens_the_flipped_item_side_by_side(workspace) -> None:
    from tailor.tui.screens.eval_flips import EvalFlipsScreen
    from tailor.tui.screens.eval_pair import EvalPairScreen
    from tailor.tui.screens.evals import EvalsScreen

    run = write_guarded_run(workspace.runs_dir)
    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(pilot.app.screen, EvalsScreen) and pilot.app.screen.models_table.row_count
                                  and pilot.app.screen, what="the Evals table")
        table = screen.models_table
        table.move_cursor(row=table.get_row_index("sft-a"))
        await pilot.pause()
        cell = str(table.get_cell("sft-a", "canary/mmlu-dev"))
        assert cell.startswith("25.0 ▼ -50.0") and cell.endswith("n.s.")  # a drop, but 4 items cannot tell
        line = str(screen.query_one("#evals-intervals").render())
        assert line.startswith("sft-a vs base, 95% intervals: ") and "EM % +83.3 (50.0 to 100.0) p=0.062" in line  # per-item: 5 of 6 flip

        await pilot.press("f")
        flips = await wait_until(pilot, lambda: isinstance(pilot.app.screen, EvalFlipsScreen) and pilot.app.screen.items
                                 and pilot.app.screen, what="the flips list")
        expected = find_flips(load_results(run), "base", "sft-a")
        assert [(f.task, len(f.fail_to_pass), len(f.pass_to_fail)) for f in flips.flips] == [("task", 5, 0), ("mmlu-dev", 0, 2)]
        assert flips.items == [(f.task, f.metric, i) for f in expected for i in (*f.fail_to_pass, *f.pass_to_fail)]
        await pilot.press("G", "enter")  # the last flip: MMLU item 2 (index 1), pass→fail
        pair = await wait_until(pilot, lambda: isinstance(pilot.app.screen, EvalPairScreen) and pilot.app.screen.rows
                                and pilot.app.screen, what="the side-by-side view")
        await wait_until(pilot, lambda: "Question 1?" in pair.detail_text.plain, what="the flipped canary item")
        assert pair.source == "canaries.jsonl" and pair.rows[pair.table.cursor_row]["index"] == 1


def test_cli_flips_match_the_screen(workspace) -> None:
    from tailor.tui.cli import cli

    run = write_guarded_run(workspace.runs_dir)
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "eval", RUN, "--flips", "base", "sft-a", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert [(f["task"], f["fail_to_pass"], f["pass_to_fail"]) for f in got] == [("task", 5, 0), ("mmlu-dev", 0, 2)]
    assert got == [f.to_json() for f in find_flips(load_results(run), "base", "sft-a")]
    text = CliRunner().invoke(cli, ["-w", str(workspace.root), "eval", RUN])
    assert "▼" in text.output and "n.s." in text.output and "95% paired-bootstrap" in text.output
    bad = CliRunner().invoke(cli, ["-w", str(workspace.root), "eval", RUN, "--flips", "base", "nope"])
    assert bad.exit_code == 2 and "no model 'nope'" in bad.output and "Traceback" not in bad.output
