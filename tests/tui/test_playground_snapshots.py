"""Snapshots of the Playground at 80x24 and 120x40: a finished two-model conversation (drawn from fixed
pane contents, no model: the layout, the header with settings, both panes with latency lines)."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, wait_until

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_playground(snap_compare, workspace, size):
    async def ready(pilot):
        from tailor.tui.screens.playground import Pane, PlaygroundScreen

        screen = await wait_until(pilot, lambda: isinstance(pilot.app.screen, PlaygroundScreen) and pilot.app.screen,
                                  what="the playground")
        await wait_until(pilot, lambda: screen.listed, what="the model choices")
        screen.targets = {"A": "demo-sft-20260101-000000-abcd", "B": "base"}
        screen.labels = {"A": "demo-sft-20260101-000000-abcd", "B": "base (tailor/tiny)"}
        screen.system = "You reverse words."
        screen.panes["A"] = Pane([("user", "Reverse: abcd"), ("assistant", "dcba")],
                                 latency="1st token 0.02 s · 310 tok/s · 5 tok")
        screen.panes["B"] = Pane([("user", "Reverse: abcd"), ("assistant", "ab ab ab ab")],
                                 latency="1st token 0.01 s · 450 tok/s · 8 tok")
        screen._draw_all()
        await pilot.pause()

    assert snap_compare(make_app(workspace, start_screen="playground"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_playground_empty(snap_compare, workspace, size):
    async def ready(pilot):
        from tailor.tui.screens.playground import PlaygroundScreen

        screen = await wait_until(pilot, lambda: isinstance(pilot.app.screen, PlaygroundScreen) and pilot.app.screen,
                                  what="the playground")
        await wait_until(pilot, lambda: screen.listed, what="the model choices")

    assert snap_compare(make_app(workspace, start_screen="playground"), terminal_size=size, run_before=ready)
