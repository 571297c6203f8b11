"""The Runs screen's export/merge dialog (``e``): the TUI twin of ``tailor export`` / ``tailor merge``."""

from __future__ import annotations

from textual.widgets import Input, Static
from tui_helpers import make_app, wait_runs_loaded, wait_until

from tailor.tui.screens.export import ExportScreen


async def test_export_dialog_runs_the_cli_and_keeps_the_form_on_error(workspace, tmp_path):
    from tui_helpers import fixed_runs

    first, _failed, _cancelled = fixed_runs(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_runs_loaded(pilot, 3)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), what="export dialog")
        dialog = app.screen
        assert dialog.run_ids == [screen.selected.run_id] and not dialog.merging
        # the grey placeholder is no value: it says to type one, and so does Export with nothing typed
        assert dialog.query_one("#out", Input).placeholder.startswith("type a folder")
        await pilot.press("enter")  # no folder yet: said inline
        assert "type a folder" in str(dialog.query_one("#export-error", Static).render())
        out = str(tmp_path / "out")
        dialog.query_one("#out", Input).value = out
        await pilot.press("enter")
        # the fixed runs are not exportable: the CLI's one-line error comes back into the dialog
        await wait_until(pilot, lambda: str(dialog.query_one("#export-error", Static).render()).startswith("error: "),
                         what="the CLI's error", timeout=60)
        assert dialog.query_one("#out", Input).value == out and app.screen is dialog
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, what="back to Runs")
        # two marked runs: the dialog merges them
        await pilot.press("space", "space")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), what="merge dialog")
        assert app.screen.merging and len(app.screen.run_ids) == 2
        assert app.screen.job() is None  # a merged run needs a name
        app.screen.query_one("#name", Input).value = "both"
        job = app.screen.job()
        assert job is not None and job.argv[:1] == ["merge"] and job.argv[-4:] == ["-o", "both", "-c", "ties"]
