"""Settings: TUI-only keys live in ``[tui]``; the flat keys of before still load, with a note naming the new key."""

from __future__ import annotations

import pytest

from tailor.engine.config import load_settings, settings


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("TAILOR_CONFIG", str(path))
    for name in ("THEME", "KEYMAP", "START_SCREEN", "RUNS_RESCAN_S", "LOG_MAX_LINES", "TUI", "TUI__THEME"):
        monkeypatch.delenv(f"TAILOR_{name}", raising=False)
    return path


def test_new_tui_section_loads_without_notes(config, monkeypatch):
    config.write_text(
        '[tui]\ntheme = "textual-light"\nstart_screen = "hosts"\nrescan_s = 0.5\nlog_max_lines = 9\n'
        '[tui.keymap]\n"runs.cancel" = "ctrl+x"\n'
    )
    s = load_settings()
    assert (s.tui.theme, s.tui.start_screen, s.tui.rescan_s, s.tui.log_max_lines) == ("textual-light", "hosts", 0.5, 9)
    assert s.tui.keymap == {"runs.cancel": "ctrl+x"} and s.notes == []
    monkeypatch.setenv("TAILOR_TUI__THEME", "nord")  # env with the nested delimiter beats the file
    assert load_settings().tui.theme == "nord"
    assert load_settings(tui={"start_screen": "evals"}).tui.start_screen == "evals"


def test_old_flat_keys_still_load_with_one_note_each(config, capsys):
    config.write_text(
        'theme = "textual-light"\nstart_screen = "hosts"\nruns_rescan_s = 0.5\nlog_max_lines = 9\n'
        '[keymap]\n"runs.cancel" = "ctrl+x"\n'
    )
    s = load_settings()
    assert (s.tui.theme, s.tui.start_screen, s.tui.rescan_s, s.tui.log_max_lines) == ("textual-light", "hosts", 0.5, 9)
    assert s.tui.keymap == {"runs.cancel": "ctrl+x"}
    assert sorted(s.notes) == sorted([
        f"{config}: 'theme' is now 'tui.theme'",
        f"{config}: 'keymap' is now 'tui.keymap'",
        f"{config}: 'start_screen' is now 'tui.start_screen'",
        f"{config}: 'runs_rescan_s' is now 'tui.rescan_s'",
        f"{config}: 'log_max_lines' is now 'tui.log_max_lines'",
    ])
    settings.cache_clear()
    try:
        settings()  # the process-wide loader prints each note once, one line each
    finally:
        settings.cache_clear()
    err = capsys.readouterr().err.splitlines()
    assert f"note: {config}: 'theme' is now 'tui.theme'" in err and len(err) == 5


def test_new_key_wins_over_old_one_and_old_env_still_loads(config, monkeypatch):
    config.write_text('theme = "old"\n[tui]\ntheme = "textual-light"\n')
    s = load_settings()
    assert s.tui.theme == "textual-light" and s.notes == [f"{config}: 'theme' is now 'tui.theme'"]
    config.write_text("")
    monkeypatch.setenv("TAILOR_START_SCREEN", "evals")
    monkeypatch.setenv("TAILOR_KEYMAP", '{"runs.cancel": "ctrl+x"}')
    s = load_settings()
    assert s.tui.start_screen == "evals" and s.tui.keymap == {"runs.cancel": "ctrl+x"}
    assert sorted(s.notes) == ["TAILOR_KEYMAP is now TAILOR_TUI__KEYMAP", "TAILOR_START_SCREEN is now TAILOR_TUI__START_SCREEN"]


def test_bad_value_names_the_new_key(config):
    from tailor.engine.errors import TailorError

    config.write_text("log_max_lines = -1\n")
    with pytest.raises(TailorError, match=r"tui\.log_max_lines: "):
        load_settings()
