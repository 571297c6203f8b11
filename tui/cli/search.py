"""``tailor search``: start a search headless, watch a study, queue trials, promote the best.

    tailor search RECIPE [-s k=v] [--workers N] [--host H] [-f]   (same as `tailor search start ...`)
    tailor search status STUDY [--storage URL] [--sort COL] [--json]
    tailor search ls [--storage URL] [--json]
    tailor search enqueue STUDY -p r=16 -p learning_rate=2e-4 [--storage URL]
    tailor search promote STUDY [--trial N] [--no-launch] [-f]
    tailor search stop STUDY
"""

from __future__ import annotations

import json
from typing import Any

import click

from tailor.tui.cli.common import CliState, follow_run, run_async, tailor_command

SUBS = ("start", "status", "ls", "enqueue", "promote", "stop")
STORAGE_HELP = "Study storage: sqlite:///PATH.db, an RDB URL or journal:PATH (default: the workspace's studies.db)."


class SearchGroup(click.Group):
    """``tailor search RECIPE`` is ``tailor search start RECIPE``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


@click.group("search", cls=SearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
def search_cmd() -> None:
    """Optuna searches over a sft/dpo recipe: each trial is a run, studies persist and resume.

    `tailor search RECIPE [-f]` starts (or continues) the study of a kind: search recipe; see docs/search.md.
    """


@search_cmd.command("start")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a field, e.g. -s n_trials=8.")
@click.option("-w", "--workers", type=int, default=None, help="Worker processes on this study (default: the recipe's).")
@click.option("-n", "--name", help="Run-name prefix of the search worker.")
@click.option("--host", default=None, help="Run the search on this SSH host.")
@click.option("-f", "--follow", is_flag=True, help="Print trials as they finish until the search ends.")
@tailor_command
def start_cmd(
    state: CliState, recipe: str, assignments: tuple[str, ...], workers: int | None, name: str | None, host: str | None, follow: bool
) -> None:
    """Start (or continue) the study of a kind: search RECIPE in a detached worker."""
    from tailor.engine.api.recipes import parse_assignment
    from tailor.engine.api.search import start_search

    overrides = dict(parse_assignment(a) for a in assignments)
    executor = state.executor(host)
    path = state.recipe_path(recipe)
    status = run_async(
        start_search(executor, state.workspace_obj(), path, overrides=overrides, workers=workers, name=name)
    )
    click.echo(status.run_id)
    if follow:
        raise SystemExit(run_async(_follow(executor, status.run_id)))


async def _follow(executor: Any, run_id: str) -> int:
    from tailor.engine.api.runs import event_line

    async for event in executor.follow(run_id, 0):
        kind = event.get("type")
        if kind == "trial":
            if event.get("state") != "running":
                click.echo(trial_line(event))
        elif kind == "metric" or kind == "search":
            continue
        else:
            click.echo(event_line(event))
    status = await executor.status(run_id)
    line = f"{status.run_id}: {status.state.value}" + (f" ({status.error})" if status.error else "")
    click.secho(line, fg="green" if status.state.value == "succeeded" else "red", err=True)
    return 0 if status.state.value == "succeeded" else 1


def trial_line(event: dict[str, Any]) -> str:
    from tailor.engine.api.runs import duration, number

    params = {**(event.get("params") or {}), **(event.get("derived") or {})}
    shown = " ".join(f"{k}={number(v) if isinstance(v, float) else v}" for k, v in params.items())
    value = event.get("value")
    text = f"trial {event.get('number'):>3} {event.get('state', '?'):<8} "
    text += f"{number(value) if value is not None else '-':>10}  {shown}  ({event.get('steps') or 0} steps, {duration(event.get('duration'))})"
    if event.get("best") is not None:
        text += f"  best {number(event['best'])}"
    if event.get("error"):
        text += f"  error: {event['error']}"
    elif event.get("reason"):
        text += f"  not launched: {event['reason']}"
    return text


def _url(state: CliState, storage: str | None) -> str:
    from tailor.engine.api.search import SearchError, check_storage_url, resolve_url

    if storage:
        try:
            check_storage_url(storage)
        except ValueError as exc:
            raise SearchError(f"--storage: {exc}") from None
    return resolve_url(storage, state.workspace_obj().root)


@search_cmd.command("status")
@click.argument("study")
@click.option("--storage", default=None, help=STORAGE_HELP)
@click.option("--sort", "sort_by", default="number", show_default=True, help="number, value, state, steps, duration or a parameter.")
@click.option("--json", "as_json", is_flag=True, help="The whole snapshot as JSON.")
@tailor_command
def status_cmd(state: CliState, study: str, storage: str | None, sort_by: str, as_json: bool) -> None:
    """A study's trials (state, parameters, objective, steps, duration) and its best trial."""
    from tailor.engine.api.search import load_study, redact, snapshot, sort_rows

    url = _url(state, storage)
    snap = snapshot(load_study(study, url))
    if as_json:
        click.echo(json.dumps(snap, default=str))
        return
    c = snap["counts"]
    second = snap.get("second_objective")
    click.echo(f"study {snap['study']} in {redact(url)}: {snap['direction']} {snap['objective']}"
               + (f", minimize {second}" if second else ""))
    click.echo(
        f"trials: {c['done']} finished ({c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed), "
        f"{c['running']} running, {c['waiting']} queued"
    )
    best = snap["best"]
    if best:
        click.echo(f"best: trial {best['number']} {snap['objective']}={best['value']:.6g} {_params_text(best)}")
    if second:
        front = ", ".join(map(str, snap["pareto"])) or "none yet"
        click.echo(f"pareto front ({snap['objective']} vs {second}, marked *): trials {front}")
    _print_trials(sort_rows(snap["rows"], sort_by, snap["direction"]), snap["objective"], second, snap.get("pareto", []))


def _params_text(row: dict[str, Any]) -> str:
    from tailor.engine.api.runs import number

    params = {**row["params"], **row["derived"]}
    return " ".join(f"{k}={number(v) if isinstance(v, float) else v}" for k, v in params.items())


def _print_trials(rows: list[dict[str, Any]], objective: str, second: str | None = None,
                  pareto: list[int] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from tailor.engine.api.runs import duration, number

    names: list[str] = []
    for row in rows:
        for key in (*row["params"], *row["derived"]):
            if key not in names:
                names.append(key)
    table = Table(box=None, header_style="bold")
    extra = [second.upper()] if second else []
    for col in ("#", "STATE", *[n.upper() for n in names], objective.upper(), *extra, "STEPS", "DURATION", "RUN"):
        table.add_column(col, justify="left" if col in ("STATE", "RUN") else "right")
    for row in rows:
        values = {**row["params"], **row["derived"]}
        cells = [number(values[n]) if isinstance(values.get(n), float) else str(values.get(n, "-")) for n in names]
        shown = row["value"] if row["value"] is not None else row.get("last")
        obj = number(shown) if shown is not None else "-"
        if row["value"] is None and shown is not None:
            obj += "*"  # the last intermediate value of a pruned/running trial
        more = [number(row["second"]) if row.get("second") is not None else "-"] if second else []
        table.add_row(
            f"{row['number']}{'*' if row['number'] in (pareto or []) else ''}", row["state"], *cells, obj, *more,
            str(row["steps"] or "-"), duration(row["duration"]), row["run_id"] or "-",
        )
    if not rows:
        click.echo("no trials yet")
        return
    Console(width=max(120, Console().width)).print(table)
    for row in rows:  # why a trial was not launched, failed or ran out of memory: one line each, unwrapped
        note = row.get("reason") or row.get("error")
        if note:
            click.echo(f"trial {row['number']} {row['state']}: {note}")


@search_cmd.command("ls")
@click.option("--storage", default=None, help=STORAGE_HELP)
@click.option("--json", "as_json", is_flag=True)
@tailor_command
def ls_cmd(state: CliState, storage: str | None, as_json: bool) -> None:
    """The studies in a storage, with trial counts and best values."""
    from tailor.engine.api.runs import number
    from tailor.engine.api.search import list_studies

    url = _url(state, storage)
    summaries = list_studies(url)
    rows = [
        {
            "study": s.study_name,
            "direction": " and ".join(d.name.lower() for d in s.directions),
            "trials": s.n_trials,
            "best": s.best_trial.values[0] if s.best_trial else None,  # single-objective studies only
            "objective": s.user_attrs.get("tailor:objective"),
            "started": s.datetime_start.isoformat(timespec="seconds") if s.datetime_start else None,
        }
        for s in summaries
    ]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo("no studies yet: `tailor search RECIPE` starts one")
        return
    for row in rows:
        best = number(row["best"]) if row["best"] is not None else "-"
        click.echo(f"{row['study']:<32} {row['trials']:>4} trials  {row['direction']} {row['objective'] or '?'}  best {best}  started {row['started'] or '-'}")


@search_cmd.command("enqueue")
@click.argument("study")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter of the trial (repeatable).")
@click.option("--storage", default=None, help=STORAGE_HELP)
@tailor_command
def enqueue_cmd(state: CliState, study: str, params: tuple[str, ...], storage: str | None) -> None:
    """Queue a trial with chosen parameters; the next worker that asks runs it first."""
    from tailor.engine.api.recipes import parse_assignment
    from tailor.engine.api.search import enqueue

    pairs = dict(parse_assignment(p) for p in params)
    checked = enqueue(study, _url(state, storage), pairs)
    shown = " ".join(f"{k}={v}" for k, v in checked.items())
    click.echo(f"queued a trial in {study}: {shown} (it runs next; start the search if none is running)")


@search_cmd.command("promote")
@click.argument("study")
@click.option("--trial", "trial_number", type=int, default=None, help="Promote this trial instead of the best.")
@click.option("--storage", default=None, help=STORAGE_HELP)
@click.option("--no-launch", is_flag=True, help="Only write the recipe into the workspace's recipes/.")
@click.option("--host", default=None, help="Train on this SSH host.")
@click.option("-f", "--follow", is_flag=True, help="Follow the training run.")
@tailor_command
def promote_cmd(
    state: CliState, study: str, trial_number: int | None, storage: str | None, no_launch: bool, host: str | None, follow: bool
) -> None:
    """Write the best trial's recipe (its parameters filled in, the full training budget) and train it."""
    from tailor.engine.api.search import promote

    executor = state.executor(host)
    path, status = run_async(
        promote(executor, state.workspace_obj(), study, _url(state, storage), trial_number=trial_number, launch=not no_launch)
    )
    click.echo(f"recipe: {path}")
    if status is None:
        return
    click.echo(status.run_id)
    if follow:
        raise SystemExit(run_async(follow_run(executor, status.run_id, 0, as_json=False)))


@search_cmd.command("stop")
@click.argument("study")
@click.option("--wait", type=float, default=60.0, show_default=True, help="Seconds to wait for the workers to stop.")
@click.option("--host", default=None)
@tailor_command
def stop_cmd(state: CliState, study: str, wait: float, host: str | None) -> None:
    """Stop every running worker of a study; the interrupted trials run again first on the next start."""
    from tailor.engine.api.search import stop_search

    for status in run_async(stop_search(state.executor(host), study, wait=wait)):
        click.echo(f"{status.run_id}: {status.state.value}")
