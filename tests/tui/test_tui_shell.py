"""The shell: deferred start-up, config (file, keymap, errors), error reporting, screen registry."""

from __future__ import annotations

import shutil

import pytest
from textual.widgets import Input
from tui_helpers import make_app, runs_screen, wait_runs_loaded, wait_until

from tailor.tui.app import TailorApp
from tailor.tui.screens import SCREENS, entry
from tailor.tui.screens.launch import LaunchScreen, parse_overrides
from tailor.tui.screens.placeholder import PlaceholderScreen, load_screen

SIZE = (120, 40)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """A config file of this test's own, read through $TAILOR_CONFIG as `tailor` does."""
    from tailor.engine.config import settings

    path = tmp_path / "config.toml"
    monkeypatch.setenv("TAILOR_CONFIG", str(path))
    settings.cache_clear()
    yield path
    settings.cache_clear()


async def test_loader_start_paints_first_then_loads_config_and_workspace(runs_workspace, config_file):
    config_file.write_text('[tui]\nrescan_s = 0.3\nlog_max_lines = 77\n[tui.keymap]\n"runs.launch" = "ctrl+l"\n')
    calls = []

    def loader():
        calls.append(1)
        return runs_workspace

    app = TailorApp(loader)  # what `tailor` does: no settings, a workspace loader
    assert not app.environment_ready and not calls
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        assert calls == [1] and app.settings.tui.log_max_lines == 77
        assert screen.detail.log_pane.max_lines == 77
        await pilot.press("n")  # remapped away by the config file
        assert not isinstance(app.screen, LaunchScreen)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen))


async def test_old_flat_config_keys_still_apply_with_a_note(runs_workspace, config_file):
    config_file.write_text('theme = "textual-light"\n')  # before the [tui] section
    app = TailorApp(lambda: runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await wait_until(pilot, lambda: notes(app), what="the note")
        assert app.theme == "textual-light"
        assert notes(app) == [f"{config_file}: 'theme' is now 'tui.theme'"]


async def test_bad_config_ends_with_one_line(runs_workspace, config_file):
    config_file.write_text("[tui]\nlog_max_lines = -3\n")
    app = TailorApp(lambda: runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.return_code == 2, what="the app to give up")
    assert app.return_code == 2
    assert "tui.log_max_lines" in str(app.startup_error) and str(config_file) in str(app.startup_error)


async def test_unknown_theme_and_bad_keymap_ids_warn(runs_workspace):
    app = make_app(runs_workspace, theme="no-such-theme", keymap={"cancel": "x"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await wait_until(pilot, lambda: len(notes(app)) >= 2)
        assert any("theme 'no-such-theme'" in n for n in notes(app))
        assert any("'cancel' is not a binding id" in n for n in notes(app))


async def test_theme_from_settings(runs_workspace):
    app = make_app(runs_workspace, theme="textual-light")
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        assert app.theme == "textual-light"


async def test_start_screen_setting(runs_workspace):
    app = make_app(runs_workspace, start_screen="hosts")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.current_mode == "hosts")


async def test_missing_run_folder_is_a_notification(runs_workspace):
    app = make_app(runs_workspace, rescan_s=30.0)  # the listing must not notice the removal first
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        shutil.rmtree(runs_workspace.runs_dir / screen.table.selected_run)
        await pilot.press("o")
        await wait_until(pilot, lambda: any("no run" in n for n in notes(app)), what="the error notification")
        error = next(n for n in app._notifications if "no run" in str(n.message))
        assert error.severity == "error" and "\n" not in str(error.message)
        await pilot.press("escape")


async def test_launch_form_rejects_bad_recipe_and_bad_values(runs_workspace):
    (runs_workspace.recipes_dir / "aaa-broken.yaml").write_text("kind: sft\nlora: {r: -1}\n")
    app = make_app(runs_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await wait_runs_loaded(pilot, 3)
        await pilot.press("n")
        launch = await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        await wait_until(pilot, lambda: launch.current is not None and launch.current.path.stem == "demo-sft")
        await pilot.press("home")  # the broken recipe sorts first
        await wait_until(pilot, lambda: launch.current.path.stem == "aaa-broken")
        assert launch.current.error and launch.query_one("#launch-go").disabled
        assert "aaa-broken.yaml" in launch.current.error
        await pilot.press("ctrl+s")  # refused with the one-line error, the form stays
        assert isinstance(app.screen, LaunchScreen)
        await pilot.press("end")
        await wait_until(pilot, lambda: launch.current.path.stem != "aaa-broken" and not launch.current.error)
        launch.query_one("#launch-r", Input).value = "eight"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "LoRA r: 'eight' is not an integer" in str(launch.query_one("#launch-r-error").render()))
        assert isinstance(app.screen, LaunchScreen)


def test_parse_overrides_types_and_paths():
    assert parse_overrides({"model": " m ", "dataset": "", "r": "8", "learning_rate": "2e-4", "epochs": "1.5"}) == {
        "model.name_or_path": "m", "lora.r": 8, "train.learning_rate": 2e-4, "train.num_train_epochs": 1.5,
    }
    with pytest.raises(ValueError, match="Epochs: must be greater than 0"):
        parse_overrides({"epochs": "0"})


def test_registry_falls_back_to_placeholders(monkeypatch):
    assert [e.key for e in SCREENS] == ["1", "2", "3", "4", "5", "6"]
    missing = entry("hosts").__class__("x", "X", "9", "tailor.tui.screens.no_such_module:Nope", "about")
    assert isinstance(load_screen(missing), PlaceholderScreen)
    no_class = missing.__class__("x", "X", "9", "tailor.tui.screens.placeholder:Nope", "about")
    assert isinstance(load_screen(no_class), PlaceholderScreen)
    broken = missing.__class__("x", "X", "9", "tailor.tui.screens.confirm:ConfirmScreen", "about")  # needs an argument
    screen = load_screen(broken)
    assert isinstance(screen, PlaceholderScreen) and "TypeError" in screen.error


async def test_runs_screen_starts_on_an_empty_workspace(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_runs_loaded(pilot, 0)
        assert screen.has_class("-empty")
        assert runs_screen(app).selected is None
        await pilot.press("x")  # nothing selected: a hint, no crash
        await wait_until(pilot, lambda: any("no runs yet: press n" in n for n in notes(app)))
