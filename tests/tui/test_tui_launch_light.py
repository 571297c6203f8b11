"""A light install (no training stack) in the launch form: a local launch is refused inline, in one line
with the command to run, and the form stays open with nothing launched (tests/core/test_light_client.py
has the CLI side)."""

from __future__ import annotations

import pytest
from test_tui_launch_form import SIZE, open_form, text
from tui_helpers import make_app, wait_until

from tailor.engine import stack
from tailor.engine.errors import TRAIN_EXTRA


@pytest.mark.parametrize("recipe", ["demo-sft", "demo-search"])  # checked before launch / refused by it
async def test_a_local_launch_without_the_stack_is_refused_in_the_form(workspace, monkeypatch, recipe) -> None:
    monkeypatch.setattr(stack, "missing", lambda modules=stack.TRAINING_STACK: list(modules))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, recipe)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: TRAIN_EXTRA in text(form, "#launch-error"), what="the refusal")
        assert "a local run needs the training stack" in text(form, "#launch-error")
        assert app.screen is form and not [p for p in workspace.runs_dir.iterdir() if p.is_dir()]
        await pilot.press("escape")
