"""``tailor merge RUN RUN... -o NAME``: combine LoRA adapters of finished runs into a new run (kind: merge).

It writes the recipe ``recipes/NAME.yaml`` (the base model filled in from the first run) and launches it
like ``tailor run``; the result is an ordinary run directory named NAME-...
"""

from __future__ import annotations

import click

from tailor.tui.cli.common import CliState, follow_run, run_async, tailor_command

COMBINATIONS = ("linear", "cat", "svd", "ties", "ties_svd", "dare_linear", "dare_ties", "dare_linear_svd",
                "dare_ties_svd", "magnitude_prune", "magnitude_prune_svd")


@click.command("merge")
@click.argument("runs", nargs=-1, required=True)
@click.option("-o", "--output", "name", required=True, help="Name of the merged run (and of its recipe file).")
@click.option("-c", "--combination", type=click.Choice(COMBINATIONS), default="ties", show_default=True, help="PEFT combination type.")
@click.option("--weights", help="Comma-separated weight per run (default: 1 each).")
@click.option("--density", type=float, help="ties / dare / magnitude_prune: fraction of weights kept (default 0.5; dare 0.7).")
@click.option("-f", "--follow", is_flag=True, help="Follow the merge until it ends.")
@tailor_command
def merge_cmd(state: CliState, runs: tuple[str, ...], name: str, combination: str, weights: str | None,
              density: float | None, follow: bool) -> None:
    """Merge the LoRA adapters of RUNS (ids, prefixes or folders; two or more) into the run NAME."""
    import yaml

    from tailor.engine.api.errors import RecipeError
    from tailor.engine.api.runs import find_run, run_recipe

    if len(runs) < 2:
        raise RecipeError("tailor merge: name two or more runs to merge")
    values = [1.0] * len(runs)
    if weights:
        try:
            values = [float(w) for w in weights.split(",")]
        except ValueError:
            raise RecipeError(f"--weights {weights}: give numbers separated by commas") from None
        if len(values) != len(runs):
            raise RecipeError(f"--weights {weights}: {len(values)} weights for {len(runs)} runs")
    ws = state.workspace_obj()
    first = find_run(ws, runs[0])
    model = getattr(run_recipe(first), "model", None)
    recipe: dict = {
        "kind": "merge",
        "name": name,
        "description": f"{combination} merge of {', '.join(runs)}",
        "model": model.model_dump(mode="json", exclude_defaults=True) or model.name_or_path if model else None,
        "adapters": [{"run": str(find_run(ws, r).path), "weight": w} for r, w in zip(runs, values, strict=True)],
        "combination_type": combination,
    }
    if density is not None:
        recipe["density"] = density
    if recipe["model"] is None:
        recipe.pop("model")
    path = ws.recipes_dir / f"{name}.yaml"
    path.write_text("# written by `tailor merge`\n" + yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    executor = state.executor(None)
    status = run_async(executor.launch(path, name=name))
    click.echo(status.run_id)
    if follow:
        raise SystemExit(run_async(follow_run(executor, status.run_id, 0, as_json=False)))
