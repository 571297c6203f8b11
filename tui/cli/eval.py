"""``tailor eval RECIPE|RUN...``: evaluate, or show stored evaluations, as a models x metrics table.

* ``tailor eval recipes/demo-eval.yaml`` launches the eval run (locally or ``--host``), follows it and
  prints the table.
* ``tailor eval RUN [RUN...]`` prints the stored results of eval runs (or of training runs evaluated at
  the end of training), merged into one table. Training runs without results are evaluated against their
  base on ``--data FILE`` (default: the first run's ``data.eval``).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from tailor.engine.api.errors import RunError
from tailor.tui.cli.common import CliState, run_async, tailor_command


@click.command("eval")
@click.argument("targets", nargs=-1, required=True, metavar="RECIPE|RUN...")
@click.option("--host", default=None, help="Run the evaluation on this SSH host.")
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a recipe field.")
@click.option("--data", "data", default=None, metavar="FILE", help="Held-out set for runs that have no results yet.")
@click.option("--sort", "sort_by", default=None, metavar="METRIC", help="Sort rows by this metric (best first).")
@click.option("--filter", "text_filter", default="", metavar="TEXT", help="Only models whose name contains TEXT.")
@click.option("--csv", "csv_path", default=None, metavar="PATH", help="Also write the table as CSV ('-': stdout).")
@click.option("--md", "md_path", default=None, metavar="PATH", help="Also write the table as Markdown ('-': stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print results.json instead of the table.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print progress while evaluating.")
@click.option("--pair", nargs=2, default=None, metavar="A B", help="Side by side: two models' outputs per example.")
@click.option("--examples", "n_examples", type=int, default=10, show_default=True, help="With --pair: examples to print.")
@click.option("--flips", nargs=2, default=None, metavar="A B", help="Items that went fail→pass and pass→fail from model A to model B, per task.")
@tailor_command
def eval_cmd(
    state: CliState,
    targets: tuple[str, ...],
    host: str | None,
    assignments: tuple[str, ...],
    data: str | None,
    sort_by: str | None,
    text_filter: str,
    csv_path: str | None,
    md_path: str | None,
    as_json: bool,
    quiet: bool,
    pair: tuple[str, str] | None,
    n_examples: int,
    flips: tuple[str, str] | None,
) -> None:
    """Evaluate the base model against fine-tuned runs; print the models x metrics table."""
    from tailor.engine.api.evals import build_table, has_results, load_results, merge, to_csv, to_markdown

    recipes = [t for t in targets if _is_recipe(state, t)]
    if recipes and len(targets) > 1:
        raise click.UsageError("give one eval recipe, or one or more runs")
    executor = state.executor(host)
    if recipes:
        folders = [_evaluate(state, executor, state.recipe_path(recipes[0]), assignments, quiet)]
    else:
        ws = state.workspace_obj()
        runs = [_run_folder(state, executor, t) for t in targets]
        pending = [r for r in runs if not has_results(r)]
        if pending:
            adhoc = _adhoc_recipe(ws, pending, data)
            try:
                done = _evaluate(state, executor, adhoc, assignments, quiet, name="eval-runs")
            finally:
                shutil.rmtree(adhoc.parent, ignore_errors=True)
            folders = [r for r in runs if has_results(r)] + [done]
        else:
            folders = runs
    results = merge([load_results(f) for f in folders])
    if pair:
        from tailor.tui.cli.views import print_pair

        print_pair(results, pair[0], pair[1], n_examples, as_json)
        return
    if flips:
        _print_flips(results, flips[0], flips[1], as_json)
        return
    if as_json:
        import json

        click.echo(json.dumps(results.to_json(), indent=2, default=str))
        return
    try:
        table = build_table(results, sort_by=sort_by, text_filter=text_filter)
    except KeyError:
        raise click.UsageError(f"--sort: no metric {sort_by!r}; use one of {', '.join(results.metrics)}") from None
    _print_table(table, results)
    for path, text in ((csv_path, to_csv(table) if csv_path else ""), (md_path, to_markdown(table) if md_path else "")):
        if path == "-":
            click.echo(text, nl=False)
        elif path:
            from tailor.engine.api.workspace import atomic_write_text

            atomic_write_text(Path(path), text, mode=0o644)
            click.echo(f"wrote {path}", err=True)


def _is_recipe(state: CliState, target: str) -> bool:
    path = state.recipe_path(target)
    return path.is_file() and path.suffix in (".yaml", ".yml")


def _run_folder(state: CliState, executor: Any, ref: str) -> Path:
    path = Path(ref).expanduser()
    if (path / "status.json").exists() or (path / "results.json").exists():
        return path
    if executor.remote:
        return run_async(executor.fetch(ref)).path
    try:
        return state.workspace_obj().run(ref).path
    except RunError:
        if path.suffix in (".yaml", ".yml"):
            raise RunError(f"{ref}: no such recipe file") from None
        raise


def _evaluate(state: CliState, executor: Any, recipe: Path, assignments: tuple[str, ...], quiet: bool, name: str | None = None) -> Path:
    """Launch an eval recipe, follow it to the end, return the run folder holding the results."""
    from tailor.engine.api.recipes import load_recipe, parse_assignment

    if load_recipe(recipe, check_files=False).kind != "eval":
        raise click.UsageError(f"{recipe} is not an eval recipe (kind: eval); `tailor run` trains")
    overrides = dict(parse_assignment(a) for a in assignments)
    status = run_async(executor.launch(recipe, name=name, overrides=overrides or None))
    click.echo(f"evaluating in run {status.run_id}", err=True)
    final = run_async(_follow(executor, status.run_id, quiet))
    if final.state.value != "succeeded":
        raise RunError(f"evaluation {final.run_id} {final.state.value}: {final.error or 'see `tailor logs ' + final.run_id + '`'}")
    return run_async(executor.fetch(status.run_id)).path


async def _follow(executor: Any, run_id: str, quiet: bool) -> Any:
    async for event in executor.follow(run_id, 0):
        if quiet:
            continue
        kind = event.get("type")
        if kind == "log":
            click.echo(f"  {event.get('message', '')}", err=True)
        elif kind == "status" and event.get("error"):
            click.echo(f"  {event['state']}: {event['error']}", err=True)
    return await executor.status(run_id)


def _adhoc_recipe(ws: Any, runs: list[Path], data: str | None) -> Path:
    """An eval recipe comparing ``runs`` (training runs without results) with their base model."""
    import yaml

    from tailor.engine.api.runs import RunDir, run_recipe

    first = RunDir(runs[0])
    try:
        train = run_recipe(first)
    except Exception as exc:
        raise RunError(f"{first.run_id}: not a run with a recipe ({exc})") from None
    from tailor.engine.api import kinds

    if getattr(train, "kind", None) not in kinds.evaluable():
        raise RunError(f"{first.run_id}: a {train.kind} run without evaluation results; nothing to show")
    if data is None and not (train.data.eval or train.data.eval_split):
        raise click.UsageError(f"{first.run_id} has no data.eval or data.eval_split to evaluate on; give a held-out set with --data FILE")
    # Without --data the worker takes the first run's held-out rows (data.eval, or the rows data.eval_split
    # took off) and draws shots from its training rows as split: never a held-out row.
    recipe = {
        "kind": "eval",
        "name": "eval-runs",
        "model": train.model.model_dump(exclude_defaults=True) or {"name_or_path": train.model.name_or_path},
        "runs": [str(r.resolve()) for r in runs],
        "few_shot": {"k": 3},
    }
    if data is not None:
        recipe["data"] = [{"path": str(Path(data).expanduser().resolve())}]
    if getattr(train, "trainer", None) == "kto":
        recipe["few_shot"] = 0  # unpaired (KTO) rows have no answer to show as a shot
    folder = Path(tempfile.mkdtemp(prefix="tailor-eval-"))
    path = folder / "eval-runs.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def _print_table(table: Any, results: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tailor.engine.api.evals import delta_is_good, fmt_delta, fmt_interval, fmt_value, title

    console = Console(width=max(140, Console().width))
    out = Table(box=None, header_style="bold", pad_edge=False, title_justify="left",
                title=f"{results.task} · {results.examples} examples · deltas vs {table.baseline or 'nothing'}")
    # the model names stay whole (wide interval cells would squeeze them to "demo-sft-2026…")
    out.add_column("MODEL", no_wrap=True, min_width=max((len(r.label) for r in table.rows), default=5))
    for m in table.metrics:
        arrow = "↑" if table.higher_is_better.get(m, True) else "↓"
        out.add_column(f"{title(m)} {arrow}", justify="right", no_wrap=True)
    for r in table.rows:
        name = Text(r.label, style="bold" if r.is_baseline else "")
        if r.error:
            name.append(f"  ({r.error})", style="red")
        cells: list[Any] = [name]
        for m in table.metrics:
            cell = Text(fmt_value(m, r.values.get(m)), style="bold green" if m in r.best else "")
            d = r.deltas.get(m)
            if d is not None:
                good = delta_is_good(table, m, d)
                iv = r.intervals.get(m)
                style = "dim" if iv is not None and not iv.significant else ("green" if good else ("red" if good is False else "dim"))
                if m in r.drops:
                    cell.append(" ▼", style="bold red")
                cell.append(f" {fmt_delta(m, d)}", style=style)
                if iv is not None:
                    cell.append(f" {fmt_interval(m, iv)}", style="dim")
            cells.append(cell)
        out.add_row(*cells)
    if not table.rows:
        click.echo("no models match the filter")
        return
    console.print(out)
    if any(r.intervals for r in table.rows):
        click.echo("deltas vs the baseline with their 95% paired-bootstrap interval over items; n.s.: the interval "
                   "contains 0 (may be noise); ⚑ canary (general task), ▼ worse than the baseline")


def _print_flips(results: Any, a: str, b: str, as_json: bool) -> None:
    """Per task: items that went fail→pass / pass→fail from A to B (the Evals screen's flips list, key f)."""
    import json

    from tailor.engine.api.evals import CANARIES, find_flips, prediction

    found = find_flips(results, a, b)
    if as_json:
        click.echo(json.dumps([f.to_json() for f in found], indent=2))
        return
    click.echo(f"flips from {found[0].a} to {found[0].b} (McNemar's exact p on the changed items)")
    for f in found:
        click.echo(f"  {f.task:<12} {f.metric:<18} fail→pass {len(f.fail_to_pass):>4}   pass→fail {len(f.pass_to_fail):>4}"
                   f"   both pass {f.both_pass:>4}   both fail {f.both_fail:>4}   p={f.p:.3g}")
    for f in found:
        name = CANARIES if f.metric.startswith("canary/") else "predictions.jsonl"
        for what, items in (("fail→pass", f.fail_to_pass), ("pass→fail", f.pass_to_fail)):
            for index in items[:5]:
                rec = prediction(results.path, index, name) or {}
                prompt = " ".join(str(rec.get("prompt", "")).split())[:70]
                out_b = " ".join(str((rec.get("outputs") or {}).get(f.b, "")).split())[:30]
                click.echo(f"  {f.task} #{index + 1} {what}: {prompt!r} → {out_b!r}")
            if len(items) > 5:
                click.echo(f"  … {len(items) - 5} more {what} in {f.task} (--json lists them all)")
