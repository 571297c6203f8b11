"""``tailor``: the TUI with no arguments, or a headless twin of every TUI action.

Every command prints a one-line ``error: ...`` and exits 2 on bad input; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys

import click

from tailor.tui.cli.common import CliState, handle_errors

SUBCOMMANDS = {
    "run": "tailor.tui.cli.runs:run_cmd",
    "runs": "tailor.tui.cli.runs:runs_cmd",
    "logs": "tailor.tui.cli.runs:logs_cmd",
    "cancel": "tailor.tui.cli.runs:cancel_cmd",
    "resume": "tailor.tui.cli.runs:resume_cmd",
    "export": "tailor.tui.cli.export:export_cmd",
    "merge": "tailor.tui.cli.merge:merge_cmd",
    "data": "tailor.tui.cli.data:data_cmd",
    "search": "tailor.tui.cli.search:search_cmd",
    "eval": "tailor.tui.cli.eval:eval_cmd",
    "chat": "tailor.tui.cli.chat:chat_cmd",
    "compare": "tailor.tui.cli.views:compare_cmd",
    "hosts": "tailor.tui.cli.hosts:hosts_cmd",
    "init": "tailor.tui.cli.runs:init_cmd",
    "rm": "tailor.tui.cli.run_rm:rm_cmd",
}


class LazyGroup(click.Group):
    """Subcommands are imported only when used, so ``tailor --help`` and the TUI start fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        import importlib

        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-w", "--workspace", type=click.Path(file_okay=False), envvar="TAILOR_WORKSPACE", help="Workspace folder.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="tailor-tui", prog_name="tailor")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, debug: bool) -> None:
    """Tailor: a keyboard-driven terminal workbench for fine-tuning LLMs.

    With no command, opens the TUI on the workspace.
    """
    ctx.obj = CliState(workspace=workspace, debug=debug)
    if ctx.invoked_subcommand is None:
        with handle_errors(ctx.obj):
            from tailor.tui.app import run_app

            run_app(ctx.obj.workspace_obj)  # a loader: the TUI paints first, then opens the workspace


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="tailor", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
