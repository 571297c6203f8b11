"""``tailor rm RUN``: delete a finished run's directory where it ran (the TUI's ``D`` in Runs); and
``tailor run --check``: the launch form's checks without launching."""

from __future__ import annotations

from typing import Any

import click

from tailor.tui.cli.common import CliState, run_async, tailor_command


@click.command("rm")
@click.argument("run_id")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.option("--host", default=None, help="The run is on this SSH host (default: where the run lives).")
@tailor_command
def rm_cmd(state: CliState, run_id: str, yes: bool, host: str | None) -> None:
    """Delete a finished run (refused while it is active). A remote run is deleted on its host; its local
    copy (the mirror, with anything fetched) stays."""
    from tailor.engine.api.errors import RunError

    executor = state.executor_for_run(run_id, host)
    where = f" on {executor.host}" if executor.remote else ""
    if not yes and not click.confirm(f"Delete run {run_id}{where}?", default=False):
        raise RunError(f"{run_id}: nothing deleted")

    async def go() -> Any:
        try:
            return await executor.delete(run_id)
        finally:
            await executor.close()

    click.echo(f"deleted {run_async(go())}{where}")


def check_launch(path: Any, overrides: dict[str, Any], host: str | None, *, quiet: bool = False) -> None:
    """Print each problem the launch form would show (``field: message``); exit 2 if there is one.
    ``quiet``: say nothing when all is well (``tailor run`` checks before it launches)."""
    from tailor.engine.api.errors import RecipeError
    from tailor.engine.api.launch import preflight

    problems = preflight(path, overrides or None, host=host or "local")
    if problems:
        # the form's field names the problem; a launch's whole-recipe refusal (a light install) reads as one
        lines = [p.message if quiet and p.field == "recipe" else f"{p.field}: {p.message}" for p in problems]
        for line in lines[1:]:
            click.echo(line, err=True)
        raise RecipeError(lines[0])
    if not quiet:
        click.echo(f"{path}: ready to launch")
