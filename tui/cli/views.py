"""CLI twins of TUI views: ``tailor compare``, ``tailor data show --row``, ``tailor data freq``,
``tailor data new-recipe`` and ``tailor eval RUN --pair A B`` (the Evals side-by-side view).

Each prints what its screen shows, computed by the same code (the Runs compare summary from
``tailor.tui.widgets.run_data.RunInfo``, the rendered row from ``tailor.engine.data.render``, the frequency table from
``tailor.engine.data.view``, the side-by-side from ``tailor.engine.eval.results.PredictionIndex``).
"""

from __future__ import annotations

import json
from typing import Any

import click

from tailor.tui.cli.common import CliState, open_dataset, run_async, tailor_command


# -- tailor compare A B ---------------------------------------------------------------------------
@click.command("compare")
@click.argument("runs", nargs=-1, required=True, metavar="RUN RUN...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@tailor_command
def compare_cmd(state: CliState, runs: tuple[str, ...], as_json: bool) -> None:
    """Compare runs: state, steps, final train loss, best eval loss and cost, then the recipe fields that differ
    (the Runs screen's compare view)."""
    from tailor.engine.api.runs import cost_cells, number, run_cost
    from tailor.tui.widgets.run_data import RunInfo, short_name
    from tailor.tui.widgets.run_settings import differing, read_settings

    if len(runs) < 2:
        raise click.UsageError("give at least two runs to compare")
    rows, fields = [], []
    ws = state.workspace_obj()
    for ref in runs:
        executor = state.executor_for_run(ref)
        run_id = ws.run(ref).run_id if not executor.remote else ref
        status = run_async(executor.status(run_id))
        info = RunInfo(status.run_id, status.via, status)
        events = run_async(executor.events(status.run_id))
        info.apply(events, live=False)
        cost = run_cost(status, events)
        step, total = info.progress()
        final = info.loss[-1][1] if info.loss else info.latest("loss")
        best = min((v for _, v in info.eval_loss), default=None)
        rows.append({"run": info.run_id, "state": info.word, "step": step, "total_steps": total,
                     "final_loss": final, "best_eval_loss": best, "host": status.via,
                     "wall_s": cost.wall_s, "tokens": cost.tokens, "tokens_per_s": cost.tokens_per_s,
                     "gpus": cost.gpus, "gpu_hours": cost.gpu_hours, "_cost": cost_cells(cost)})
        settings = read_settings(ws.runs_dir / status.run_id, status)  # a remote run's mirror holds it too
        fields.append(settings.fields if settings is not None else {})
    diff = differing(fields)
    cells = [row.pop("_cost") for row in rows]
    if as_json:
        for i, row in enumerate(rows):
            click.echo(json.dumps({**row, "differs": {key: values[i] for key, values in diff}}))
        return
    head = ("RUN", "STATE", "STEPS", "FINAL LOSS", "BEST EVAL LOSS", "WALL", "TOKENS", "TOK/S", "GPU-H")
    table = [(r["run"], r["state"], f"{r['step']}/{r['total_steps']}" if r["total_steps"] else str(r["step"]),
              number(r["final_loss"]), number(r["best_eval_loss"]), c["wall"], c["tokens"], c["tok/s"], c["GPU-h"])
             for r, c in zip(rows, cells, strict=True)]
    _columns(head, table)
    click.echo("")
    if not diff:
        click.echo("The recipes are identical (apart from name and description)")
        return
    click.echo("Recipe fields that differ")
    _columns(("FIELD", *(short_name(r["run"]) for r in rows)), [(key, *values) for key, values in diff])


def _columns(head: tuple[str, ...], table: list[tuple[Any, ...]]) -> None:
    widths = [max(len(h), *(len(str(t[i])) for t in table)) for i, h in enumerate(head)]
    for line in (head, *table):
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


# -- tailor data show FILE --row N --model M ------------------------------------------------------
def show_rendered(src: Any, row: int, model: str, tok: Any, plan: Any, as_json: bool) -> None:
    """One row as the SFT trainer tokenizes it under ``plan``, trained-on tokens marked (the Datasets row
    detail); refuses what training and the row detail refuse."""
    from tailor.engine.api.data import RowIssue, apply_columns, detect, render_record
    from tailor.engine.api.errors import DataError

    if not 1 <= row <= len(src):
        raise DataError(f"{src.label}: --row {row} is out of range (rows are numbered 1..{len(src)}, as the TUI shows them)")
    record = src.records(row - 1, 1)[0]
    if not record.ok:
        raise DataError(f"{record.loc.short}: {record.error}")
    fmt = detect([r.data for r in src.records(0, 50) if r.ok and r.data is not None])
    if fmt is None:
        raise DataError(f"{src.label}: unknown format; convert it first (tailor data convert)")
    try:
        seqs = render_record(apply_columns(record.data or {}, {}), fmt, tok, plan, model, record.loc)
    except RowIssue as exc:
        raise DataError(f"{record.loc.short}: this row cannot be trained on: {exc}") from None
    if as_json:
        for s in seqs:
            click.echo(json.dumps({"row": row, "title": s.title, "tokens": s.tokens, "trained": s.trained, "truncated": s.truncated,
                                   "max_length": s.max_length, "train_on": plan.train_on,
                                   "spans": [{"text": t, "trained": on} for t, on in s.spans]}, ensure_ascii=False))
        return
    click.echo(f"row {row}/{len(src)} · {record.loc.short} · {fmt} · {model} chat template · train_on: {plan.train_on} · max_length "
               f"{plan.max_length} · trained-on tokens in bold green (underlined)")
    for s in seqs:
        cut = f" · TRUNCATED at max_length {s.max_length}" if s.truncated else ""
        click.secho(f"{s.title}: {s.tokens} tokens, {s.trained} trained on{cut}", bold=True)
        click.echo("".join(click.style(t, fg="green", bold=True, underline=True) if on else click.style(t, dim=True)
                           for t, on in s.spans))


# -- tailor data freq FILE COLUMN --------------------------------------------------------------------
@click.command("freq")
@click.argument("path")
@click.argument("column")
@click.option("-n", "--limit", type=int, default=20, show_default=True, help="Most common values to print.")
@click.option("--json", "as_json", is_flag=True)
@tailor_command
def freq_cmd(state: CliState, path: str, column: str, limit: int, as_json: bool) -> None:
    """Value counts of COLUMN over every row of PATH (the Datasets frequency table)."""
    from tailor.engine.api.data import frequency
    from tailor.engine.api.errors import DataError

    src = open_dataset((path,))
    if column not in src.columns():
        raise DataError(f"{src.label}: no column {column!r}; columns: {', '.join(src.columns())}")
    freq = frequency(src, column, limit=max(limit, 1))
    if as_json:
        click.echo(json.dumps({"column": freq.column, "total": freq.total, "missing": freq.missing,
                               "distinct": freq.distinct, "top": freq.counts[:limit]}, ensure_ascii=False))
        return
    click.echo(f"{column}: {freq.total} rows, {freq.distinct} distinct values, {freq.missing} missing")
    width = max((len(str(c)) for _, c in freq.counts[:limit]), default=5)
    for value, count in freq.counts[:limit]:
        share = 100 * count / freq.total if freq.total else 0
        click.echo(f"{count:>{width}}  {share:5.1f}%  {value}")


# -- tailor data new-recipe FILE ------------------------------------------------------------------------
@click.command("new-recipe")
@click.argument("path")
@click.option("--model", default="tailor/tiny", show_default=True, help="The base model of the recipe.")
@click.option("--max-length", type=int, default=1024, show_default=True)
@tailor_command
def new_recipe_cmd(state: CliState, path: str, model: str, max_length: int) -> None:
    """Write a training recipe for the dataset at PATH into the workspace's recipes/ (the Datasets `r` key)."""
    from pathlib import Path

    from tailor.engine.api.data import detect, new_recipe

    src = open_dataset((path,))
    fmt = detect([r.data for r in src.records(0, 50) if r.ok and r.data is not None])
    if Path(path).expanduser().exists():  # as the Datasets screen: an absolute path, valid from recipes/
        path = str(Path(path).expanduser().resolve())
    target = new_recipe(state.workspace_obj(), path, fmt or "", model=model, max_length=max_length)
    click.echo(str(target))


# -- tailor eval RUN --pair A B -------------------------------------------------------------------------
def print_pair(results: Any, a: str, b: str, limit: int, as_json: bool) -> None:
    """Two models' outputs, most-disagreeing examples first, scores on the table's scale (Evals side-by-side)."""
    from tailor.engine.api.evals import METRICS, PredictionIndex, fmt_value, score_metric, title

    ids = [m.id for m in results.models]
    for model in (a, b):
        if model not in ids:
            raise click.UsageError(f"--pair: no model {model!r} in this evaluation; models: {', '.join(ids)}")
    if results.path is None:
        raise click.UsageError("--pair needs one evaluation run (its predictions.jsonl)")
    index = PredictionIndex(results.path, a, b, results.primary)
    primary = results.primary or "score"
    metric = score_metric(primary)  # the gap is |A−B| of this per-example score, shown as the table shows it
    rows = index.by_disagreement()[: max(limit, 0)]
    for row in rows:
        ex = index.get(row["index"]) or {"outputs": {}}
        if as_json:
            click.echo(json.dumps({"index": row["index"], "gap": row["gap"], "prompt": ex.get("prompt"),
                                   "reference": ex.get("reference"), a: ex["outputs"].get(a), b: ex["outputs"].get(b),
                                   "scores": {m: (ex.get("scores") or {}).get(m, {}) for m in (a, b)}}, ensure_ascii=False))
            continue
        gap = fmt_value(metric, row["gap"]) if metric in METRICS else f"{row['gap']:.3g}"
        click.secho(f"#{row['index']} · |A−B| {title(metric) if metric in METRICS else primary} {gap}", bold=True)
        click.echo(f"  prompt:    {ex.get('prompt', '')}")
        click.echo(f"  reference: {ex.get('reference', '')}")
        scores = ex.get("scores") or {}
        for model in (a, b):
            shown = []
            for key, value in sorted((scores.get(model) or {}).items()):
                metric = score_metric(key)
                if metric in METRICS and isinstance(value, int | float):
                    shown.append(f"{title(metric)} {fmt_value(metric, value)}")
            click.echo(f"  {model}: {ex['outputs'].get(model, '')!r}  ({', '.join(shown)})")
