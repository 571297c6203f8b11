"""The launch form as the full launch surface: inline validation under each field, a form kept after an
error, the from_run picker of chained kinds, the effective-recipe preview, the host picker."""

from __future__ import annotations

import yaml
from textual.widgets import Input, Select
from tui_helpers import make_app, wait_runs_loaded, wait_until, write_run

from tailor.tui.screens.launch import LaunchRequest, LaunchScreen
from tailor.tui.screens.launch_pickers import NO_RUN

SIZE = (80, 24)


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def open_form(pilot, recipe: str = "demo-sft", runs: int = 0, **kwargs) -> LaunchScreen:
    await wait_runs_loaded(pilot, runs)
    form = LaunchScreen(**kwargs)
    pilot.app.push_screen(form, getattr(pilot.app, "results", []).append)
    await wait_until(pilot, lambda: form.current is not None, what="the first recipe")
    if form.current.path.stem != recipe:
        options = form.query_one("#launch-recipes")
        options.highlighted = next(i for i, p in enumerate(form.recipes) if p.stem == recipe)
        await wait_until(pilot, lambda: form.current.path.stem == recipe, what=f"recipe {recipe}")
    return form


async def test_validation_is_inline_and_the_form_is_kept(workspace):
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)  # launches for real once the checks pass
        # The dataset field shows the path as the recipe writes it.
        assert form.query_one("#launch-dataset", Input).placeholder == "../data/reverse/train.jsonl"

        form.query_one("#launch-model", Input).value = "tailor/tinyy"  # a typo: refused before launch
        form.query_one("#launch-dataset", Input).value = "../data/reverse-preference/train.jsonl"  # DPO data
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: text(form, "#launch-model-error"), what="the model's message")
        assert "tailor/tinyy" in text(form, "#launch-model-error")
        await wait_until(pilot, lambda: "not SFT data" in text(form, "#launch-dataset-error"))
        assert app.screen is form and not [s for s in (workspace.runs_dir.iterdir()) if s.is_dir()]
        assert form.query_one("#launch-model", Input).value == "tailor/tinyy"  # what was typed stays
        for selector in ("#launch-model-error", "#launch-go"):  # on screen at 80x24
            region = form.query_one(selector).region
            assert region.height and region.bottom <= SIZE[1] - 1, (selector, region)

        form.query_one("#launch-model", Input).value = ""  # fixed: its message clears, the other stays
        await wait_until(pilot, lambda: not form.query_one("#launch-model-error").display, what="cleared")
        assert "not SFT data" in text(form, "#launch-dataset-error")
        form.query_one("#launch-dataset", Input).value = "missing.jsonl"
        await wait_until(pilot, lambda: "no such dataset file 'missing.jsonl'" in text(form, "#launch-dataset-error"))
        form.query_one("#launch-r", Input).value = "eight"
        await wait_until(pilot, lambda: "not an integer" in text(form, "#launch-r-error"))
        await pilot.press("escape")


async def test_a_failed_launch_keeps_the_form(workspace):
    """An unreachable host: the launch fails inside the form, which keeps every field."""
    workspace.config_file.write_text(yaml.safe_dump({"hosts": {"down": {
        "hostname": "127.0.0.1", "port": 9, "user": "nobody", "agent": False}}}))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await wait_until(pilot, lambda: "down" in form.host_errors, what="the host probe", timeout=30)
        labels = [str(label) for label, value in form.query_one("#launch-host", Select)._options if value != Select.NULL]
        assert any(label.startswith("down · unreachable") for label in labels), labels
        form.query_one("#launch-host", Select).value = "down"
        form.query_one("#launch-r", Input).value = "8"
        await wait_until(pilot, lambda: text(form, "#launch-fit-check").startswith("down is unreachable"))
        await pilot.press("ctrl+s")  # unreachable counts as "over": the first ctrl+s warns
        await wait_until(pilot, lambda: "again" in text(form, "#launch-fit-check"))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "launch failed" in text(form, "#launch-error"), timeout=30)
        assert app.screen is form and form.query_one("#launch-r", Input).value == "8" and form.host == "down"
        await pilot.press("escape")


async def test_chained_recipe_offers_succeeded_runs(runs_workspace):
    ids = runs_workspace.fixed_run_ids  # succeeded sft, failed sft, cancelled dpo
    write_run(runs_workspace, "sft-ok-20260101-030000-beef", steps=10, total=10)
    app = make_app(runs_workspace)
    app.results = []
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "demo-dpo", 4, launch=False)
        picker = form.query_one("#launch-from_run", Select)
        assert form.query_one("#launch-from_run-row").display
        def options() -> list:
            return [(str(label), value) for label, value in picker._options if value != Select.NULL]

        await wait_until(pilot, lambda: len(options()) == 3, what="the runs to start from")
        values = [value for _, value in options()]
        assert values == [NO_RUN, "sft-ok-20260101-030000-beef", ids[0]]  # succeeded only, newest first
        # "no override" listed once, saying what it means for demo-dpo (no from_run of its own)
        assert [label for label, _ in picker._options].count("none: the base model") == 1
        assert options()[0][0] == "none: the base model" and not picker._allow_blank
        mode = form.query_one("#launch-from_run_mode", Select)
        assert mode.value == "merge" and [v for _, v in mode._options if v != Select.NULL] == ["merge", "stack"]
        label = options()[2][0]
        assert label.startswith(f"{ids[0]} · sft") and "loss " in label and "eval " in label
        picker.value = ids[0]
        await pilot.press("ctrl+r")  # the effective recipe, with its CLI twin
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RecipePreviewScreen")
        preview = app.screen
        assert f"from_run: {ids[0]}" in preview.query_one("#viewer-text").text
        assert f"tailor run demo-dpo -s from_run={ids[0]}" in text(preview, "#viewer-title")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is form)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.results, what="the checked request")
        request = app.results[0]
        assert isinstance(request, LaunchRequest) and request.overrides == {"from_run": ids[0]}

    app = make_app(runs_workspace)
    app.results = []
    async with app.run_test(size=SIZE) as pilot:  # a recipe's own from_run, stacked on instead of merged
        (runs_workspace.recipes_dir / "demo-dpo.yaml").write_text(
            (runs_workspace.recipes_dir / "demo-dpo.yaml").read_text() + f"from_run: {ids[0]}\n")
        form = await open_form(pilot, "demo-dpo", 4, launch=False)
        picker = form.query_one("#launch-from_run", Select)
        await wait_until(pilot, lambda: len(options()) == 3, what="the runs to start from")
        assert options()[0][0] == f"the recipe's own: {ids[0]}"
        form.query_one("#launch-from_run_mode", Select).value = "stack"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.results, what="the checked request")
        assert app.results[0].overrides == {"from_run_mode": "stack"}  # only what was changed

    async with make_app(runs_workspace).run_test(size=SIZE) as pilot:  # sft has no from_run: no picker
        form = await open_form(pilot, "demo-sft", 4, launch=False)
        assert not form.query_one("#launch-from_run-row").display


async def test_recipe_list_scrolls_to_every_recipe_at_80x24(workspace):
    for i in range(6):  # more recipes than the list has rows at 80x24
        (workspace.recipes_dir / f"zz-extra-{i}.yaml").write_text((workspace.recipes_dir / "demo-sft.yaml").read_text())
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, launch=False)
        options = form.query_one("#launch-recipes")
        assert options.has_focus and options.size.height < len(form.recipes)  # not all shown at once

        def shown(index: int) -> bool:  # the option's line is inside the list's visible rows, on screen
            top = int(options.scroll_y)
            return top <= index < top + options.scrollable_content_region.height and options.region.bottom <= SIZE[1]

        last = len(form.recipes) - 1
        await pilot.press("G")  # the last recipe: highlighted, scrolled into view, read into the form
        await wait_until(pilot, lambda: form.current.path == form.recipes[last], what="the last recipe read")
        assert options.highlighted == last and shown(last)
        await pilot.press("g")
        await wait_until(pilot, lambda: form.current.path == form.recipes[0], what="the first recipe read")
        assert shown(0)
        await pilot.press("j", "j", "k")
        await wait_until(pilot, lambda: form.current.path == form.recipes[1], what="j/k move")
        await pilot.press("end")
        await wait_until(pilot, lambda: options.highlighted == last and shown(last), what="end")
