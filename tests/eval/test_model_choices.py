"""One list of pickable models (engine/eval/choices.py) for the Playground, the Evals form and `tailor chat --list`:
succeeded runs (merge runs too) and the merged models `tailor export --merge` recorded. Fast: no model is loaded."""

from __future__ import annotations

from click.testing import CliRunner
from tui_helpers import T0, make_app, wait_until, write_run

from tailor.engine.eval.choices import model_choices
from tailor.engine.runs.exports import exported_models, record_export
from tailor.tui.cli import cli

SFT = "demo-sft-20260101-000000-a1b2"
MERGE = "both-merge-20260101-010000-c3d4"


def _workspace(workspace, tmp_path):
    write_run(workspace, SFT)
    write_run(workspace, MERGE, kind="merge", start=T0 + 3600)
    write_run(workspace, "demo-sft-20260101-020000-dead", state="failed", start=T0 + 7200)  # never offered
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    record_export(workspace, merged, "merged", SFT, "tailor/tiny")
    record_export(workspace, tmp_path / "adapter-only", "adapter", SFT, "tailor/tiny")  # an adapter: its run is offered
    record_export(workspace, tmp_path / "moved-away", "merged", SFT, "tailor/tiny")  # the folder is gone
    return merged


def test_choices_list_runs_merge_runs_and_exported_merged_models(workspace, tmp_path) -> None:
    merged = _workspace(workspace, tmp_path)
    found = model_choices(workspace)
    assert [c.ref for c in found] == [f"model:{merged.resolve()}", MERGE, SFT]  # newest first
    assert found[0].kind == "merged" and found[0].run_id == SFT and "merged from" in found[0].label
    assert [e["path"] for e in exported_models(workspace)] == [str(merged.resolve())]
    assert oct((workspace.root / "exports.jsonl").stat().st_mode & 0o777) == "0o600"

    # the CLI twin lists the same models, in the same order
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "chat", "--list"])
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [c.ref for c in found]
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "chat"])
    assert result.exit_code == 2 and "--list" in result.output


def test_evals_launch_of_a_merged_model_names_its_base(workspace, tmp_path) -> None:
    import yaml

    from tailor.engine.eval.launch import EvalLaunch, prepare

    merged = _workspace(workspace, tmp_path)
    data = workspace.data_dir / "reverse" / "eval.jsonl"
    path, overrides = prepare(workspace, EvalLaunch(data, [], True, 0, None, [str(merged)]))
    recipe = yaml.safe_load(path.read_text())
    assert recipe["adapters"] == [str(merged)] and recipe["model"] == "tailor/tiny" and recipe["runs"] == []
    recipe_file = workspace.recipes_dir / "q.yaml"
    recipe_file.write_text("kind: eval\nmodel: tailor/tiny\ndata: ../data/reverse/eval.jsonl\n")
    _, overrides = prepare(workspace, EvalLaunch(recipe_file, [SFT], False, 0, None, [str(merged)]))
    assert overrides["adapters"] == [str(merged)] and overrides["runs"] == [SFT]


async def test_evals_form_and_playground_offer_the_same_models(workspace, tmp_path) -> None:
    from tailor.engine.eval.launch import prepare
    from tailor.tui.screens.evals import EvalsScreen
    from tailor.tui.screens.evals_launch import LaunchEval

    merged = _workspace(workspace, tmp_path)
    app = make_app(workspace, start_screen="evals")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, EvalsScreen) and app.screen.scans, what="scan")
        await pilot.press("n")
        form = await wait_until(pilot, lambda: isinstance(app.screen, LaunchEval) and app.screen, what="the form")
        assert [ref for ref, _ in form.runs] == [c.ref for c in model_choices(workspace)]
        models = form.query_one("#launch-models")
        # demo-eval.yaml (zero_shot, runs: [latest:demo-sft], few_shot k 3): its own models, nothing more
        assert form.sources[0][0].name == "demo-eval.yaml"
        assert set(models.selected) == {"__base__", SFT}
        shots = form.query_one("#launch-shots")
        assert shots.value == "" and shots.placeholder == "3 (the recipe's)"
        # ticked and unticked rows read differently without colour
        lines = [models.render_line(y).text for y in range(len(form.runs) + 1)]
        assert [line[:3] for line in lines] == ["▐X▌", "▐ ▌", "▐ ▌", "▐X▌"], lines
        # a dataset: the base model and the newest run (not an export); k has no recipe value
        form.query_one("#launch-source").highlighted = 1
        await pilot.pause()
        assert set(models.selected) == {"__base__", MERGE} and shots.placeholder == "0"
        await pilot.press("escape")
        # untouched, the recipe runs as written: nothing is overridden and the frozen recipe keeps k: 3
        kept: list = []
        await app.push_screen(LaunchEval(form.sources, form.runs, form.hosts, form.defaults), kept.append)
        await pilot.press("ctrl+s")
        assert kept[0].recipe_models and kept[0].shots is None
        assert prepare(workspace, kept[0])[1] == {}
        await app.push_screen(LaunchEval(form.sources, form.runs, form.hosts, form.defaults), kept.append)
        app.screen.query_one("#launch-shots").value = "1"
        app.screen.query_one("#launch-models").deselect("__base__")
        await pilot.press("ctrl+s")
        assert prepare(workspace, kept[1])[1] == {"zero_shot": False, "runs": [SFT], "trials": [], "adapters": [],
                                                  "few_shot.k": 1}
        launched: list = []  # the same list in a form of our own, to see what it hands back (nothing runs)
        await app.push_screen(LaunchEval(form.sources, form.runs, form.hosts), launched.append)
        models = app.screen.query_one("#launch-models")
        models.select(f"model:{merged.resolve()}")
        models.deselect(MERGE)
        await pilot.press("ctrl+s")
        assert launched[0].models == [str(merged.resolve())] and launched[0].runs == [] and launched[0].base
