"""``tailor run | runs | logs | cancel | resume | init``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from tailor.tui.cli.common import CliState, follow_run, print_event, run_async, say_damaged, tailor_command

if TYPE_CHECKING:
    from tailor.engine.api.runs import RunDir, Status


@click.command("run")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a recipe field, e.g. -s lora.r=8.")
@click.option("-n", "--name", help="Run-name prefix (default: the recipe's name).")
@click.option("--host", default=None, help="Run on this SSH host instead of locally.")
@click.option("-f", "--follow", is_flag=True, help="Follow the run's events until it ends.")
@click.option("--check", is_flag=True, help="Only run the launch form's checks (model, data, overrides); launch nothing.")
@tailor_command
def run_cmd(state: CliState, recipe: str, assignments: tuple[str, ...], name: str | None, host: str | None, follow: bool,
            check: bool) -> None:
    """Launch RECIPE as a detached worker and return at once (or follow it with -f)."""
    from tailor.engine.api.recipes import parse_assignment

    overrides = dict(parse_assignment(a) for a in assignments)
    path = state.recipe_path(recipe)
    from tailor.tui.cli.run_rm import check_launch

    if not check:  # the recipe's own errors as a launch words them (naming the file), then every check
        from tailor.engine.api.recipes import load_with_overrides

        load_with_overrides(path, overrides or None)
    # the whole of --check first: what it refuses exits 2 before a run directory exists
    check_launch(path, overrides, host, quiet=not check)
    if check:
        return
    executor = state.executor(host)
    if hasattr(executor, "on_notice"):  # a remote launch says when its connection drops and what it found
        executor.on_notice = lambda line: click.secho(line, fg="yellow", err=True)
    status = run_async(executor.launch(path, name=name, overrides=overrides or None))
    click.echo(status.run_id)
    for warning in getattr(status, "warnings", None) or []:  # launched anyway, and what to know about it
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if follow:
        code = run_async(follow_run(executor, status.run_id, 0, as_json=False))
        raise SystemExit(code)


@click.command("runs")
@click.option("--host", default=None, help="List runs on this SSH host.")
@click.option("--state", "states", multiple=True, help="Only runs in this state (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON status per line.")
@click.option("--repair", "repair", metavar="RUN", default=None, help="Rebuild RUN's status.json from its events.jsonl.")
@tailor_command
def runs_cmd(state: CliState, host: str | None, states: tuple[str, ...], as_json: bool, repair: str | None) -> None:
    """List runs with state, step and latest losses."""
    from tailor.engine.api.runs import RunDir, duration, number, safe, state_word

    if repair:
        from tailor.engine.api.executors import Control

        fixed = Control(state.workspace_obj()).repair(repair)
        click.echo(f"{fixed.run_id}: status rebuilt from events.jsonl: {fixed.state.value}, step {fixed.step}")
        return
    statuses = run_async(_listing(state, host))
    if states:
        statuses = [s for s in statuses if s.state.value in states or state_word(s) in states]
    if as_json:
        import json

        from tailor.engine.api.runs import DamageCache

        cache = DamageCache()  # parsing every run's events each time would make a large listing slow
        for s in statuses:
            # a listing of this workspace names the damaged event lines its readers skip (never silently)
            note = state.damaged_events(s.run_id, s.state.terminal, cache) if host is None else ""
            click.echo(json.dumps({**s.model_dump(mode="json"), "damaged_events": note}) if note else s.model_dump_json())
        cache.save()
        return
    columns = ("RUN", "KIND", "HOST", "STATE", "STEP", "LOSS", "EVAL LOSS", "ELAPSED", "ETA")
    rows = []
    ws, now = state.workspace_obj(), time.time()
    for s in statuses:
        step = f"{s.step}/{s.total_steps}" if s.total_steps else str(s.step)
        label = state_word(s) + (f": {s.error}" if s.state.value == "corrupt" and s.error else "")
        eta = _eta(RunDir(ws.runs_dir / s.run_id), s, now) if s.state.active else None
        cells = (s.run_id, s.kind, s.via, label, step, number(s.latest.get("loss")),
                 number(s.latest.get("eval_loss")), duration(s.elapsed), duration(eta))
        rows.append([safe(c) for c in cells])  # safe: no control characters
    if not statuses and states:
        click.echo(f"no {' or '.join(states)} runs")
        return
    if not statuses:
        click.echo("no runs yet: `tailor run RECIPE` starts one")
        return
    click.echo(_table(columns, rows, right=("STEP", "LOSS", "EVAL LOSS", "ELAPSED", "ETA")))


def _table(columns: tuple[str, ...], rows: list[list[str]], right: tuple[str, ...]) -> str:
    """Aligned plain columns: 10,000 runs print in a blink (a rich Table measures and wraps every cell)."""
    if rows:  # zip and map run in C: 10,000 rows
        widths = [max(len(c), *map(len, cells)) for c, cells in zip(columns, zip(*rows, strict=True), strict=True)]
    else:
        widths = [len(c) for c in columns]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if col in right else cell.ljust(w) for col, cell, w in zip(columns, cells, widths, strict=True)
        ).rstrip()

    return "\n".join([click.style(line(columns), bold=True), *(line(row) for row in rows)])


def _eta(run: RunDir, status: Status, now: float) -> float | None:
    """The Runs screen's ETA: from the pace in the events (a remote run's mirror holds them)."""
    from tailor.engine.api.runs import eta_from_events

    if not run.events_file.exists():
        return None
    return eta_from_events(run.events(), status.step, status.total_steps, now)


async def _listing(state: CliState, host: str | None) -> list:
    """The runs; for the local listing, remote runs refreshed from their hosts (engine/remote/refresh.py)."""
    executor = state.executor(host)
    try:
        statuses = await executor.list_runs()
    finally:
        await executor.close()
    if host is None:
        from tailor.engine.api.runs import refresh_remote

        statuses = await refresh_remote(state.workspace_obj(), statuses)
    return statuses


@click.command("logs")
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events until the run ends.")
@click.option("--after", type=int, default=0, help="Only events with seq greater than this.")
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON events.")
@click.option("--stderr", "stream", flag_value="stderr", help="Print the worker's stderr.log instead.")
@click.option("--stdout", "stream", flag_value="stdout", help="Print the worker's stdout.log instead.")
@click.option("--host", default=None)
@tailor_command
def logs_cmd(state: CliState, run_id: str, follow: bool, after: int, as_json: bool, stream: str | None, host: str | None) -> None:
    """Print (or follow) a run's events."""
    executor = state.executor_for_run(run_id, host)
    if stream:
        ws = state.workspace_obj()
        path = getattr(ws.run(run_id), f"{stream}_file")
        from tailor.engine.api.runs import safe

        click.echo(safe(path.read_text(errors="replace")) if path.exists() else "", nl=False)
        return
    if follow:
        raise SystemExit(run_async(follow_run(executor, run_id, after, as_json=as_json, state=state)))
    if hasattr(executor, "on_notice"):  # e.g. a remote run's host is down: its mirror is shown, and said so
        executor.on_notice = lambda line: click.secho(line, fg="yellow", err=True)
    for event in run_async(executor.events(run_id, after)):
        print_event(event, as_json)
    if host is None:
        say_damaged(state, run_id)


@click.command("cancel")
@click.argument("run_id")
@click.option("--wait", type=float, default=60.0, show_default=True, help="Seconds to wait for the worker to stop.")
@click.option("--host", default=None)
@tailor_command
def cancel_cmd(state: CliState, run_id: str, wait: float, host: str | None) -> None:
    """Stop a run cleanly: it saves a checkpoint and ends as cancelled."""
    status = run_async(state.executor_for_run(run_id, host).cancel(run_id, wait=wait))
    click.echo(f"{status.run_id}: {status.state.value}")


@click.command("resume")
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True)
@click.option("--host", default=None)
@click.option("--accept-changes", is_flag=True,
              help="Resume even though the recipe, data, model or budget changed since the checkpoint; "
                   "the differences are recorded in the run's events.")
@click.option("--check", is_flag=True, help="Only show what changed since the checkpoint (a local run); start nothing.")
@tailor_command
def resume_cmd(state: CliState, run_id: str, follow: bool, host: str | None, accept_changes: bool, check: bool) -> None:
    """Continue a failed or cancelled run from its last checkpoint (refused when what it trains on changed)."""
    from tailor.engine.api.runs import check_lines, find_run, host_of, resume_changes, resume_notes, safe

    if check:
        run = find_run(state.workspace_obj(), run_id)
        if host or host_of(run):
            from tailor.engine.api.errors import RunError

            raise RunError(f"{run.run_id} runs on {host or host_of(run)}: its data is there; `tailor resume "
                           f"{run.run_id}` checks it on the host and lists what changed")
        for line in check_lines(run, resume_changes(run)):
            click.echo(safe(line))
        return
    executor = state.executor_for_run(run_id, host)
    status = run_async(executor.resume(run_id, accept_changes=accept_changes))
    click.echo(f"{status.run_id}: resumed (attempt {status.attempt})")
    for note in resume_notes(run_async(executor.events(run_id))):
        click.echo(f"  {safe(note)}")
    if follow:
        after = 0
        raise SystemExit(run_async(follow_run(executor, status.run_id, after, as_json=False)))


@click.command("init")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@tailor_command
def init_cmd(state: CliState, path: str | None) -> None:
    """Create a workspace (default: the configured one) with example recipes and demo data."""
    from tailor.engine.api.workspace import Workspace, open_workspace

    ws = Workspace(path).ensure() if path else open_workspace(state.workspace, create=True)
    click.echo(str(ws.root))
    for recipe in ws.recipes():
        click.echo(f"  recipes/{recipe.name}")
