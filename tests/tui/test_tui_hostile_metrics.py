"""Hostile metric values through every widget that shows metrics (issue 26, item 1).

Events keep NaN and infinities by contract (a diverged loss is information) and a hand-edited or hostile
file may hold anything: the Runs table and detail, Compare, the Search screen and the Evals screens must
draw a gap or a clipped point, never raise. A fixed list stands in for a property test's strategy: every
value kind that broke a reader (NaN, +-inf, +-1e308, ints beyond a float, text).
"""

from __future__ import annotations

import json
import math

from tui_helpers import make_app, runs_screen, wait_runs_loaded, wait_until, write_run

from tailor.tui.widgets.curves import CLIP_MARKER, Curves, plottable

BAD: list[object] = [math.nan, math.inf, -math.inf, 1e308, -1e308, 2**999, 10**400, "1.5", "loss"]


def _hostile_run(workspace, index: int, value: object, kind: str = "sft") -> str:
    """A finished run whose last events and status hold ``value`` as loss, eval loss, lr, grad and epoch."""
    run_id = f"bad{index}-{kind}-20260101-0{index}0000-abc{index}"
    run = write_run(workspace, run_id, kind=kind, steps=4, total=6, eval_every=2)
    names = ("reward", "rewards/exact/mean") if kind == "grpo" else ("loss",)
    t = 1_767_225_700
    events = [  # json.dumps writes NaN and Infinity as Python's json (and a worker) does
        {"seq": 100, "time": t, "type": "metric", "step": 5, "split": "train", "epoch": value,
         "values": {**dict.fromkeys(names, value), "learning_rate": value, "grad_norm": value}},
        {"seq": 101, "time": t + 1, "type": "metric", "step": 5, "split": "eval", "values": {"eval_loss": value}},
        {"seq": 102, "time": t + 2, "type": "metric", "step": 6, "split": "train", "values": {"loss": 1.0}},
    ]
    with open(run.events_file, "a") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in events)
    status = json.loads(run.status_file.read_text())
    status["latest"] = {"loss": value, "eval_loss": value, "reward": value}
    run.status_file.write_text(json.dumps(status))  # may be unreadable (text, a huge int): listed as corrupt
    return run_id


def test_plottable_marks_gaps_and_clips() -> None:
    points = [(1, 2.0), (2, math.nan), (3, 1.5), (4, math.inf), (5, 1.0), ("x", 1.0), (6, 10**400), (7, -1e308),
              (8, "text"), (9,), None, (10, 0.5)]
    p = plottable(points)
    assert p.segments == [[(1.0, 2.0)], [(3.0, 1.5)], [(5.0, 1.0)], [(10.0, 0.5)]]
    assert p.clipped == [(4.0, 2.0), (6.0, 2.0), (7.0, 0.5)]  # at the top or bottom of the drawn values
    assert p.gaps == 5 and p.note() == "3 clipped, 5 gaps"
    assert plottable([(1, math.inf)]).clipped == [(1.0, 1.0)]  # nothing finite: a unit range


async def test_every_metric_widget_survives_hostile_values(workspace) -> None:
    from tailor.engine.eval.results import EvalResults, ModelResult, write_results
    from tailor.engine.runs.rundir import RunDir
    from tailor.engine.runs.status import RunState, Status
    from tailor.tui.screens.compare import CompareScreen
    from tailor.tui.screens.eval_pair import EvalPairScreen
    from tailor.tui.screens.evals import EvalsScreen
    from tailor.tui.screens.search import SearchScreen

    ids = [_hostile_run(workspace, i, v) for i, v in enumerate(BAD)]
    ids.append(_hostile_run(workspace, len(BAD), math.inf, kind="grpo"))
    app = make_app(workspace)
    async with app.run_test(size=(160, 45)) as pilot:  # the TUI starts with "loss": Infinity in the events
        screen = await wait_runs_loaded(pilot, len(ids))
        for _ in ids:  # every run's detail: stats, progress, curves
            await pilot.press("j")
            await wait_runs_loaded(pilot, len(ids))
        curves = screen.detail.query_one(Curves)
        curves.show([("raw", [(i, v) for i, v in enumerate(BAD)] + [("x", 1), (1,)])])  # straight in
        await pilot.pause()
        legend = str(curves.border_title)
        assert "6 clipped, 5 gaps" in legend and CLIP_MARKER in legend
        text_run = runs_screen(app).store.get(ids[BAD.index("1.5")])  # text is no metric value: its lines are damaged
        assert text_run is not None and text_run.damaged == "2 damaged event lines skipped (line 11, 12)"
        screen.detail.show_run(text_run, 0.0)
        assert text_run.damaged in str(screen.detail.query_one("#detail-stats").render())  # said in the detail
        sft = runs_screen(app).store.get(ids[1])
        assert sft is not None and sft.loss and math.isinf(sft.loss[-2][1])  # inf kept in the data, clipped in the plot

        await pilot.press("g", *["space"] * len(ids), "c")
        compare = await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen)
        table = compare.query_one("#compare-table")
        await wait_until(pilot, lambda: table.row_count == len(ids), what="every run compared")
        cells = {str(table.get_row(k)[0]): str(table.get_row(k)[4]) for k in table.rows}
        assert cells[ids[0]] == "1.375" and cells[ids[2]] == "-inf"  # best eval loss: NaN is none, -inf is
        await pilot.press("escape")

        app.action_goto("search")
        search = await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen)
        rows = [
            {"number": i, "state": "complete", "params": {"learning_rate": v, "r": v}, "derived": {"alpha": v},
             "value": v, "last": v, "steps": 5, "duration": 1.0, "run_id": None, "intermediate": {1: 1.0, 2: v}}
            for i, v in enumerate(BAD)
        ]
        snap = {"study": "s", "direction": "minimize", "objective": "eval_loss", "url": "sqlite:///x.db",
                "space": {"learning_rate": {"low": 1e-5, "high": 1e-2, "log": True}, "r": {"choices": [4, 8]}},
                "rows": rows, "best": rows[1], "history": [(i, v) for i, v in enumerate(BAD)],
                "counts": {"complete": len(rows), "pruned": 0, "failed": 0, "running": 0, "waiting": 0},
                "workers": [], "storage": "x.db", "importances": {"learning_rate": math.nan, "r": math.inf}}
        search.on_search_screen_polled(SearchScreen.Polled([("s", "sqlite:///x.db")], ("s", "sqlite:///x.db"), snap))
        search.snap = snap
        await pilot.press("s")  # sorted by each column: values of every kind side by side
        await pilot.press("s")
        await pilot.pause()
        assert search.table.row_count == len(BAD)

        status = Status(run_id="eval-bad-20260101-000000-abcd", kind="eval", name="eval-bad",
                        state=RunState.SUCCEEDED, created_at=1_767_225_600.0, host="test")
        run = RunDir.create(workspace.runs_dir, status.run_id, "kind: eval\n", status)
        models = [ModelResult(f"m{i}", f"m{i}", "base", "tailor/tiny", metrics={"eval_loss": v, "exact_match": v})
                  for i, v in enumerate(BAD)]
        preds = [{"index": 0, "prompt": "p", "reference": "r", "outputs": {m.id: "o" for m in models},
                  "scores": {m.id: {"exact_match": v, "loss": v} for m, v in zip(models, BAD, strict=True)}}]
        write_results(run.eval_dir, EvalResults("generation", ["eval_loss", "exact_match"],
                                                {"eval_loss": False, "exact_match": True}, models, baseline="m0",
                                                primary="exact_match", examples=1, run_id=status.run_id), preds)
        app.action_goto("evals")
        evals = await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans >= 1
                                 and app.screen.models_table.row_count and app.screen)
        assert evals.models_table.row_count == len(BAD)
        await pilot.press("s", "s", "s")  # sort by each metric
        for model in ("m1", "m6"):
            evals.models_table.move_cursor(row=[str(k.value) for k in evals.models_table.rows].index(model))
            await pilot.press("space")
        await pilot.press("enter")
        pair = await wait_until(pilot, lambda: isinstance(app.screen, EvalPairScreen) and app.screen.rows and app.screen,
                                what="side by side")
        await wait_until(pilot, lambda: "Reverse" not in pair.detail_text.plain and pair.detail_text.plain,
                         what="the example shown")
