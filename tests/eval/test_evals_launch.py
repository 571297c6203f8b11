"""Launching an evaluation from the Evals screen: the form, live progress, the list filling in."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, wait_until

pytestmark = pytest.mark.slow

RECIPE = """\
kind: eval
name: a-quick-eval
model: tailor/tiny
data: ../data/reverse/eval.jsonl
runs: [latest:demo-sft]
max_examples: 8
generation: {max_new_tokens: 8}
"""


async def test_launch_from_evals_follows_progress_and_lists_the_results(trained) -> None:
    from tailor.tui.screens.evals import EvalsScreen
    from tailor.tui.screens.evals_launch import LaunchEval

    ws = trained.workspace
    (ws.recipes_dir / "a-quick-eval.yaml").write_text(RECIPE)  # "a-": listed first among eval recipes
    app = make_app(ws, start_screen="evals")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans and app.screen,
                                  what="the Evals screen")
        before = len(screen.items)
        await pilot.press("n")
        form = await wait_until(pilot, lambda: isinstance(app.screen, LaunchEval) and app.screen, what="the launch form")
        assert form.sources[0][0].name == "a-quick-eval.yaml"
        await pilot.press("tab", "tab", "tab")  # to few-shot k: a bad value is refused inline, the form stays
        form.query_one("#launch-shots").value = "-1"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, LaunchEval) and "few-shot k" in str(form.query_one("#launch-error").render())
        form.query_one("#launch-shots").value = "1"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.launched, what="the launched run")
        run_id = next(iter(screen.launched))
        await wait_until(pilot, lambda: run_id not in screen.launched, timeout=300, what="the evaluation to end")
        await wait_until(pilot, lambda: len(screen.items) == before + 1, what="its results listed")
        folder, res = screen.items[0]
        assert folder.parent.name == run_id
        assert [m.id for m in res.models] == ["base", "base-1shot", trained.run.run_id]


async def test_empty_evals_screen_answers_keys_with_a_hint(workspace) -> None:
    from tailor.tui.screens.evals import EvalsScreen

    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans, what="scan")
        for key in ("s", "slash", "space", "enter", "e", "G"):
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            assert any("press n" in n.message for n in app._notifications), key
