"""Shared CLI plumbing: workspace and executor lookup, one-line error handling, output helpers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from tailor.engine.api.errors import TailorError, one_line


@dataclass
class CliState:
    workspace: str | None = None
    debug: bool = False
    _ws: Any = field(default=None, repr=False)

    def workspace_obj(self):  # -> engine.workspace.Workspace
        if self._ws is None:
            from tailor.engine.api.workspace import open_workspace

            self._ws = open_workspace(self.workspace)
        return self._ws

    def executor(self, host: str | None = None):  # -> engine.executors.base.Executor
        from tailor.engine.api.executors import executor_for

        return executor_for(self.workspace_obj(), host)

    def executor_for_run(self, run_id: str, host: str | None = None):
        """The executor that owns ``run_id``: ``--host`` if given, else the run's own host (remote mirror)."""
        if host:
            return self.executor(host)
        from tailor.engine.api.executors import executor_for_run

        return executor_for_run(self.workspace_obj(), run_id)


@contextmanager
def handle_errors(state: CliState | None) -> Iterator[None]:
    """Expected errors print one line on stderr and exit 2; unexpected ones too unless --debug."""
    try:
        yield
    except TailorError as exc:
        if state and state.debug:
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit, BrokenPipeError):
        raise  # click itself handles a closed pipe (`tailor runs | head`) quietly
    except Exception as exc:  # never a traceback unless asked
        if state and state.debug:
            raise
        click.secho(f"error: {one_line(exc)} (run with --debug for the traceback)", fg="red", err=True)
        sys.exit(1)


def state_of(ctx: click.Context) -> CliState:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliState) else CliState()


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)


def tailor_command(fn):  # decorator: pass CliState and wrap errors
    import functools

    @functools.wraps(fn)
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        state = state_of(ctx)
        with handle_errors(state):
            return fn(state, *args, **kwargs)

    return wrapper
