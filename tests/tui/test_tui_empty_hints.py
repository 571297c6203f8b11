"""An empty screen answers every key that needs something to act on with a hint, never silence.

One bare workspace (no runs, recipes, data, hosts, evaluations); each screen's selection keys each give
the screen's hint (what to do first, with the CLI twin)."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, wait_until

from tailor.engine.workspace import Workspace

SELECTION_KEYS = {
    "datasets": ["enter", "j", "k", "g", "G", "down"],
    "search": ["x", "e", "p", "o", "O", "right_square_bracket", "left_square_bracket", "j", "k", "enter", "down"],
    "runs": ["enter", "j", "k", "g", "G", "down", "x", "r", "space", "c", "o", "p", "P", "D", "F", "e", "z", "l"],
    "evals": ["enter", "j", "k", "g", "G", "s", "r", "slash", "space", "e"],
    "hosts": ["enter", "j", "k", "down", "t", "e", "K", "s", "d", "r"],
    "playground": ["a", "b", "s", "n", "j", "k", "g", "G"],  # after esc leaves the prompt
}


@pytest.fixture
def bare(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.ssh/config hosts, no recent datasets
    return Workspace(tmp_path / "ws").ensure(demo=False)


@pytest.mark.parametrize("name", list(SELECTION_KEYS))
async def test_empty_screen_answers_selection_keys_with_a_hint(bare, name) -> None:
    from tailor.tui.screens import entry
    from tailor.tui.screens.base import TailorScreen

    assert {e.name for e in __import__("tailor.tui.screens", fromlist=["SCREENS"]).SCREENS} == set(SELECTION_KEYS)
    app = make_app(bare, start_screen=name)
    async with app.run_test(size=(80, 24)) as pilot:
        cls_name = entry(name).target.split(":")[1]

        def ready():
            screen = app.screen
            return type(screen).__name__ == cls_name and screen._environment_seen and screen

        screen: TailorScreen = await wait_until(pilot, ready, what=f"the {name} screen")
        await pilot.pause(0.3)  # its first listing (empty) has landed
        hint = screen.empty_hint()
        assert hint and ("press" in hint or "`tailor" in hint), hint
        if name == "playground":
            await pilot.press("escape")  # from the prompt to the panes: keys act on the screen
        for key in SELECTION_KEYS[name]:
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, f"{name}: {key} left the screen"
            messages = [n.message for n in app._notifications]
            assert hint in messages, f"{name}: {key} answered {messages or 'nothing'}"
