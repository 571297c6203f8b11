"""Every screen and dialog at 80x24: each button and input is on the screen, or comes fully into view when
its container scrolls to it (a control below a form's bottom edge, or cut at its right, fails).

One app walks them all with their keys where the keys reach them without a model or a study: the runs are
a failed and a cancelled one (no model to chat with, so the Playground loads nothing), and the dialogs
that need a search study or a chat answer are opened as their screens open them. Left out, as they hold
no button or input: the row detail and the quality report (they load a tokenizer), the side-by-side eval
view, the progress modal and the Playground's model picker (lists only).
"""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.errors import NoWidget
from textual.widget import Widget
from tui_helpers import T0, make_app, wait_runs_loaded, wait_until, write_run

SIZE = (80, 24)
CONTROLS = "Button, Input, Select, TextArea"


def _shown(widget: Widget) -> bool:
    node: Widget | None = widget
    while node is not None and node is not widget.screen:
        if not node.display or node.styles.visibility == "hidden":
            return False
        node = node.parent if isinstance(node.parent, Widget) else None
    return True


def _in_view(screen, widget: Widget) -> tuple[bool, str]:
    try:
        geometry = screen.find_widget(widget)
    except NoWidget:
        return False, f"{widget!r} (not laid out)"
    region = geometry.region
    seen = bool(region.area) and geometry.clip.contains_region(region) and screen.region.contains_region(region)
    return seen, f"{widget!r} at {tuple(region)}, visible {tuple(geometry.clip.intersection(region))}"


async def reachable(pilot, where: str) -> int:
    """Scroll to each shown control of the current screen that is not wholly in view; return how many
    controls there are, fail on any that stays (partly) off-screen."""
    screen = pilot.app.screen
    await pilot.pause()
    off, count = [], 0
    for widget in [w for w in screen.query(CONTROLS) if _shown(w)]:
        count += 1
        if _in_view(screen, widget)[0]:
            continue
        widget.scroll_visible(animate=False, immediate=True)
        await pilot.pause()
        seen, why = _in_view(screen, widget)
        if not seen:
            off.append(why)
    assert not off, f"{where} at {SIZE[0]}x{SIZE[1]}: controls out of reach: {off}"
    return count


async def opened(pilot, name: str, keys: tuple[str, ...] = (), *, ready=None) -> int:
    """Press ``keys``, wait for the screen class ``name`` (and ``ready``), check its controls."""
    if keys:
        await pilot.press(*keys)
    app = pilot.app
    await wait_until(pilot, lambda: type(app.screen).__name__ == name and (ready is None or ready(app.screen)),
                     what=name)
    return await reachable(pilot, name)


async def closed(pilot, name: str, keys: tuple[str, ...] = ("escape",)) -> None:
    await pilot.press(*keys)
    await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == name, what=f"back to {name}")


def _gone(screen, selector: str) -> bool:
    try:
        screen.query_one(selector)
    except NoMatches:
        return True
    return False


async def test_every_control_is_reachable_at_80x24(workspace, monkeypatch):
    monkeypatch.chdir(workspace.root)
    write_run(workspace, "demo-sft-20260101-000000-a1b2", state="failed", steps=12, total=30, error="boom")
    write_run(workspace, "demo-dpo-20260101-010000-c3d4", state="cancelled", kind="dpo", steps=8, total=40,
              start=T0 + 3600)
    app = make_app(workspace, rescan_s=60)  # no re-scans while walking: nothing changes on disk
    counts: dict[str, int] = {}
    async with app.run_test(size=SIZE) as pilot:
        # Runs and its dialogs.
        await wait_runs_loaded(pilot, 2)
        await pilot.press("slash")
        counts["Runs"] = await opened(pilot, "RunsScreen", ready=lambda s: not _gone(s, "#runs-filter"))
        await pilot.press("escape")
        counts["launch form"] = await opened(pilot, "LaunchScreen", ("n",), ready=lambda s: s.current is not None)
        counts["recipe preview"] = await opened(pilot, "RecipePreviewScreen", ("ctrl+r",))
        await closed(pilot, "LaunchScreen")
        await closed(pilot, "RunsScreen")
        counts["help"] = await opened(pilot, "HelpScreen", ("question_mark",))
        await closed(pilot, "RunsScreen")
        counts["confirm"] = await opened(pilot, "ConfirmScreen", ("D",))
        await closed(pilot, "RunsScreen", ("n",))
        counts["export"] = await opened(pilot, "ExportScreen", ("e",))
        await closed(pilot, "RunsScreen")
        counts["files"] = await opened(pilot, "RunFilesScreen", ("o",), ready=lambda s: s.entries)
        files = app.screen
        files.query_one("OptionList").highlighted = next(i for i, (_l, path) in enumerate(files.entries) if path.is_file())
        counts["viewer"] = await opened(pilot, "TextViewerScreen", ("enter",))
        await closed(pilot, "RunFilesScreen")
        await closed(pilot, "RunsScreen")
        counts["compare"] = await opened(pilot, "CompareScreen", ("space", "space", "c"))
        await closed(pilot, "RunsScreen")
        counts["merge"] = await opened(pilot, "ExportScreen", ("e",), ready=lambda s: s.merging)  # both marked
        await closed(pilot, "RunsScreen")

        # Datasets: the list with its path box, the browser with its prompt, the frequency table.
        counts["Datasets"] = await opened(pilot, "DatasetsScreen", ("1",))
        app.screen.open("data/reverse/train.jsonl")
        browser = lambda s: s.source is not None and s.source.done and s.table.row_count  # noqa: E731
        await opened(pilot, "BrowserScreen", ready=browser)
        counts["browser"] = await opened(pilot, "BrowserScreen", ("slash",),
                                         ready=lambda s: s.query_one("#data-prompt").has_class("visible"))
        await pilot.press("escape")
        counts["frequency"] = await opened(pilot, "FrequencyScreen", ("F",))
        await closed(pilot, "BrowserScreen")
        await closed(pilot, "DatasetsScreen")

        # Search: the recipe picker, and the enqueue form as the screen opens it for a study.
        counts["Search"] = await opened(pilot, "SearchScreen", ("2",))
        counts["search recipe picker"] = await opened(pilot, "PickSearchRecipe", ("n",))
        await closed(pilot, "SearchScreen")
        from tailor.tui.screens.search_dialogs import EnqueueTrial

        space = {"train.learning_rate": {"low": 1e-5, "high": 1e-3, "log": True}, "lora.r": {"choices": [8, 16, 32]},
                 "lora.alpha": {"choices": [16, 32]}, "lora.dropout": {"low": 0.0, "high": 0.2}}
        app.push_screen(EnqueueTrial("walk-study", space, {"lora.r": 16}))
        counts["enqueue trial"] = await opened(pilot, "EnqueueTrial")
        await closed(pilot, "SearchScreen")

        # Evals: the filter box and the new-evaluation form.
        counts["Evals"] = await opened(pilot, "EvalsScreen", ("4",))
        counts["evaluation form"] = await opened(pilot, "LaunchEval", ("n",))
        await closed(pilot, "EvalsScreen")

        # Hosts: the add form.
        counts["Hosts"] = await opened(pilot, "HostsScreen", ("5",))
        counts["add host"] = await opened(pilot, "HostFormScreen", ("a",))
        await closed(pilot, "HostsScreen")

        # Playground: the prompt, the settings, saving an answered prompt.
        counts["Playground"] = await opened(pilot, "PlaygroundScreen", ("6",), ready=lambda s: s.listed)
        counts["chat settings"] = await opened(pilot, "EditSettings", ("escape", "o"))
        await closed(pilot, "PlaygroundScreen")
        from tailor.tui.screens.playground import Pane

        screen = app.screen  # as after an answer (no model is loaded: the runs here trained nothing)
        screen.targets["A"] = "demo-sft-20260101-000000-a1b2"
        screen.panes["A"] = Pane([("user", "Reverse: abcd"), ("assistant", "dcba")])
        screen.last_prompt = ([{"role": "user", "content": "Reverse: abcd"}], "Reverse: abcd")
        counts["save example"] = await opened(pilot, "SaveExample", ("s",))
        await closed(pilot, "PlaygroundScreen")

    # Every form was really checked (a screen whose controls were all hidden would pass silently).
    for form in ("launch form", "export", "merge", "add host", "evaluation form", "enqueue trial", "chat settings"):
        assert counts[form] >= 2, counts
