"""`tailor search` — placeholder until its issue lands."""

from __future__ import annotations

import click


@click.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def search_cmd(args: tuple[str, ...]) -> None:
    """Not available yet."""
    raise click.ClickException("`tailor search` is not available in this version yet")
