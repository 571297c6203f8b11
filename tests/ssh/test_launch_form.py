"""From the launch form to a succeeded run on the SSH test host: the host picker shows the probed host,
the form launches there (what ``tailor run --host box`` does: data sync, the host's Python) and the run
appears in Runs at once, followed live until it succeeds."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Select

from tailor.engine.runs.rundir import RunDir
from tests.ssh.conftest import write_recipe

pytestmark = [pytest.mark.ssh, pytest.mark.slow]


async def wait_until(pilot, predicate, timeout: float = 60.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)
    await pilot.pause()
    return result


async def test_launch_on_the_ssh_host_from_the_form(ssh_ws, remote_dir) -> None:
    from tailor.engine.config import load_settings
    from tailor.tui.app import TailorApp
    from tailor.tui.screens.launch import LaunchScreen
    from tailor.tui.screens.runs import RunsScreen

    write_recipe(ssh_ws, steps=4, name="aaa-remote")  # sorts first in the recipe list
    app = TailorApp(ssh_ws, load_settings(workspace=ssh_ws.root, tui={"rescan_s": 0.3}))
    async with app.run_test(size=(100, 32)) as pilot:
        runs = await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.scans and app.screen)
        await pilot.press("n")
        form = await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        form.query_one("#launch-recipes").highlighted = 0
        await wait_until(pilot, lambda: form.current is not None and form.current.path.stem == "aaa-remote")
        await wait_until(pilot, lambda: "box" in form.budgets, what="the probe of box")
        host = form.query_one("#launch-host", Select)
        label = next(str(lab) for lab, value in host._options if value == "box")
        assert label.startswith("box · no GPU (CPU)"), label
        host.value = "box"
        await wait_until(pilot, lambda: form.fit is not None, what="the estimate")
        assert "resources.gpus: 0" in str(form.query_one("#launch-fit-check").render())
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is runs, what="the form closed on launch")
        run_id = await wait_until(pilot, lambda: next(
            (rid for rid, info in runs.store.runs.items() if rid.startswith("aaa-remote")), None))
        assert runs.store.runs[run_id].host == "box"
        assert run_id in runs.following or runs.store.runs[run_id].state.terminal  # followed at once
        await wait_until(pilot, lambda: runs.store.runs[run_id].state.value == "succeeded", timeout=180,
                         what="the remote run to succeed")
        info = runs.store.runs[run_id]
        assert info.loss, "the curves were followed live"
        assert (remote_dir / "workspace" / "runs" / run_id).is_dir()  # it ran on the host
        assert RunDir(ssh_ws.runs_dir / run_id).read_status().host == "box"

        # Fetch its artefacts (F), then delete it on the host (D, confirmed): each with a progress modal.
        runs.open_run(run_id)
        await wait_until(pilot, lambda: runs.table.selected_run == run_id)
        await pilot.press("F")
        task = await wait_until(pilot, lambda: type(app.screen).__name__ == "RunTaskScreen" and app.screen)
        await wait_until(pilot, lambda: task.done, what="the fetch")
        assert not task.error and "files fetched" in str(task.query_one("#task-result").render())
        assert any((ssh_ws.runs_dir / run_id / "adapter").iterdir())
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is runs)
        await pilot.press("D")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        assert "on box" in str(app.screen.message)
        await pilot.press("y")
        task = await wait_until(pilot, lambda: type(app.screen).__name__ == "RunTaskScreen" and app.screen)
        await wait_until(pilot, lambda: task.done, what="the delete")
        assert not task.error, task.error
        assert not (remote_dir / "workspace" / "runs" / run_id).exists()
        assert (ssh_ws.runs_dir / run_id / "adapter").is_dir()  # the local copy stays
