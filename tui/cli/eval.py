"""`tailor eval` — placeholder until its issue lands."""

from __future__ import annotations

import click


@click.command("eval", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def eval_cmd(args: tuple[str, ...]) -> None:
    """Not available yet."""
    raise click.ClickException("`tailor eval` is not available in this version yet")
