"""Pilot tests of the Evals screen and the side-by-side view, on fixed stored results (no model)."""

from __future__ import annotations

from eval_helpers import write_eval_run
from tui_helpers import make_app, wait_until


def _row_ids(table) -> list[str]:
    return [str(key.value) for key in table.rows]


def _cell(table, row: str, col: str) -> str:
    return str(table.get_cell(row, col))


async def _open_evals(pilot):
    from tailor.tui.screens.evals import EvalsScreen

    def ready():
        screen = pilot.app.screen
        return isinstance(screen, EvalsScreen) and screen.scans >= 1 and screen.models_table.row_count and screen

    return await wait_until(pilot, ready, what="the Evals screen with its table")


async def test_table_sort_filter_mark_and_export(workspace) -> None:
    run = write_eval_run(workspace.runs_dir)
    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_evals(pilot)
        table = screen.models_table
        assert _row_ids(table) == ["base", "base-2shot", "sft-a", "sft-b"]
        assert _cell(table, "sft-a", "exact_match") == "90.0 +80.0"  # value and delta vs the base, EM on the 0-100 scale
        assert _cell(table, "base", "exact_match") == "10.0"  # the baseline has no delta
        assert "exact_match" in screen.table_model.row("sft-a").best
        assert screen.list_table.row_count == 1

        await pilot.press("s")  # sort by the first metric: loss, lowest (best) first
        assert screen.sort_by == "eval_loss"
        assert _row_ids(table) == ["sft-b", "sft-a", "base-2shot", "base"]
        await pilot.press("s")
        assert screen.sort_by == "exact_match" and _row_ids(table)[0] == "sft-a"
        await pilot.press("r")
        assert _row_ids(table)[0] == "base"

        await pilot.press("slash")
        await pilot.press(*"sft")
        assert _row_ids(table) == ["sft-b", "sft-a"]
        await pilot.press("enter")
        assert table.has_focus
        await pilot.press("escape")  # clears the filter
        assert len(_row_ids(table)) == 4

        await pilot.press("e")
        csv, md = run.eval_dir / "table.csv", run.eval_dir / "table.md"
        await wait_until(pilot, lambda: csv.exists() and md.exists(), what="the exported table")
        assert csv.read_text().splitlines()[1].startswith("base,")  # the order shown: reversed EM
        assert md.read_text().startswith("| model |")

        table.move_cursor(row=_row_ids(table).index("sft-a"))
        await pilot.press("space")
        table.move_cursor(row=_row_ids(table).index("sft-b"))
        await pilot.press("space")
        assert screen.marked == ["sft-a", "sft-b"]
        assert _cell(table, "sft-a", "_mark") == "1"


async def test_side_by_side_jumps_to_disagreements(workspace) -> None:
    from tailor.tui.screens.eval_pair import EvalPairScreen
    from tailor.tui.screens.evals import EvalsScreen

    write_eval_run(workspace.runs_dir)
    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_evals(pilot)
        table = screen.models_table
        for model in ("sft-a", "sft-b"):
            table.move_cursor(row=_row_ids(table).index(model))
            await pilot.press("space")
        await pilot.press("enter")
        pair = await wait_until(
            pilot, lambda: isinstance(app.screen, EvalPairScreen) and app.screen.rows and app.screen, what="side by side"
        )
        # most disagreement first: examples 1 and 4 (one model right, the other wrong), then 5 (both wrong)
        assert [r["index"] for r in pair.rows[:3]] == [1, 4, 5]
        await wait_until(pilot, lambda: "hgef" in pair.detail_text.plain, what="example 1 shown")
        text = pair.detail_text.plain
        assert "Reverse: efgh" in text and "hgfe" in text  # prompt, reference and both outputs

        await pilot.press("n")
        assert pair.rows[pair.table.cursor_row]["index"] == 4
        await wait_until(pilot, lambda: "Reverse: qrst" in pair.detail_text.plain, what="example 4 shown")
        await pilot.press("n")
        assert pair.rows[pair.table.cursor_row]["index"] == 5
        await pilot.press("n")  # the rest agree: the cursor stays
        assert pair.rows[pair.table.cursor_row]["index"] == 5
        await pilot.press("d")
        assert pair.table.cursor_row == 0

        await pilot.press("o")  # file order: 0 agrees, 1 is the next disagreement
        assert [r["index"] for r in pair.rows] == [0, 1, 2, 3, 4, 5]
        await pilot.press("n")
        assert pair.rows[pair.table.cursor_row]["index"] == 1
        await pilot.press("p")  # nothing before 1 disagrees
        assert pair.rows[pair.table.cursor_row]["index"] == 1

        await pilot.press("escape")
        assert isinstance(app.screen, EvalsScreen)


async def test_selected_model_against_base_and_empty_workspace(workspace) -> None:
    from tailor.tui.screens.eval_pair import EvalPairScreen

    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(80, 24)) as pilot:
        from tailor.tui.screens.evals import EvalsScreen

        screen = await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans >= 1 and app.screen)
        assert screen.has_class("-empty")
        write_eval_run(workspace.runs_dir)
        screen.scan()
        await wait_until(pilot, lambda: screen.models_table.row_count == 4, what="the new evaluation")
        assert not screen.has_class("-empty")
        screen.models_table.move_cursor(row=2)  # sft-a, nothing marked: compared with the base
        await pilot.press("enter")
        pair = await wait_until(pilot, lambda: isinstance(app.screen, EvalPairScreen) and app.screen, what="side by side")
        assert (pair.a, pair.b) == ("base", "sft-a")
        await wait_until(pilot, lambda: pair.table.row_count, what="the examples")
        assert [str(c.label) for c in pair.table.columns.values()][:2] == ["#", "|A−B|"]
        assert str(pair.table.get_row_at(0)[1]) == "100.0"  # the gap on the score columns' scale (tok F1 %)
        assert "· |A−B| > 0: 5 ·" in str(pair.query_one("#pair-status").render())


async def test_the_list_follows_an_evaluation_that_fills_in(workspace) -> None:
    """A running evaluation writes results.json model by model: its list row follows without a restart."""
    import os

    from eval_helpers import sample_results

    from tailor.engine.eval.results import EvalResults, write_results

    run = write_eval_run(workspace.runs_dir)
    res, preds = sample_results(run.run_id)
    partial = res.to_json()
    partial["models"] = partial["models"][:1]
    write_results(run.eval_dir, EvalResults.from_json(partial))
    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_evals(pilot)
        key = str(run.eval_dir)

        def listed() -> list[str]:  # run, task, examples, models, best
            return [str(c) for c in screen.list_table.get_row(key)]

        assert listed()[3] == "1"
        write_results(run.eval_dir, res, preds)  # the rest landed
        os.utime(run.eval_dir / "results.json", (1e10, 1e10))  # a new mtime, however coarse the clock
        await wait_until(pilot, lambda: listed()[3] == "4", what="4 models listed")
        assert listed()[4].startswith("sft-a")
