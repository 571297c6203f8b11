"""Placeholder until the TUI issue lands: start the demo training headless."""

from __future__ import annotations


def run_app(workspace) -> None:  # noqa: ANN001
    import click

    click.echo(f"workspace: {workspace.root}")
    click.echo("The TUI is not built yet; try `tailor run demo-sft -f`.")
