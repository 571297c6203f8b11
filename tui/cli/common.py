"""Shared CLI plumbing: workspace and executor lookup, one-line error handling, output helpers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tailor.engine.api.errors import TailorError, missing_extra, one_line

if TYPE_CHECKING:
    from tailor.engine.api.data import RowSource


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

    def damaged_events(self, run_id: str, ended: bool | None = None, cache: Any = None) -> str:
        """``3 damaged event lines skipped (line 17, 22, 40)`` for a run of this workspace (a remote run's
        mirror included), empty when none or when the run is not here. ``cache``: a ``DamageCache`` (a
        listing asks for every run)."""
        from tailor.engine.api.runs import RunDir, damaged_lines, damaged_note

        run = RunDir(self.workspace_obj().runs_dir / run_id)
        if not run.events_file.exists():
            return ""
        if ended is None:
            ended = run.listed_status().state.terminal
        # a live run's last line may be half-written: counted only once the run has ended
        found = cache.lines(run.events_file, complete=ended) if cache else damaged_lines(run.events_file, complete=ended)
        return damaged_note(found)

    def recipe_path(self, recipe: str) -> Path:
        """A recipe path as given, or the name of a recipe in the workspace's recipes/ folder."""
        path = Path(recipe)
        if path.exists() or path.is_absolute() or path.parent != Path("."):
            return path
        ws = self.workspace_obj()
        for candidate in (ws.recipes_dir / recipe, ws.recipes_dir / f"{recipe}.yaml"):
            if candidate.exists():
                return candidate
        return path


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
    except PermissionError as exc:  # bad input (a file's mode), not a bug: one line with the fix, exit 2
        if state and state.debug:
            raise
        click.secho(f"error: {one_line(exc)}", fg="red", err=True)
        sys.exit(2)
    except Exception as exc:  # never a traceback unless asked
        if state and state.debug:
            raise
        if missing_extra(exc):  # a light install: the line names the extra to install
            click.secho(f"error: {one_line(exc)}", fg="red", err=True)
            sys.exit(2)
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


async def follow_run(executor: Any, run_id: str, after: int, *, as_json: bool, state: CliState | None = None) -> int:
    """Print a run's events until it ends, then its final state on stderr; the exit status (0: succeeded).
    With ``state``, the damaged lines the events skipped are said once, at the end."""
    if hasattr(executor, "on_notice"):  # remote executors say when the link drops and comes back
        executor.on_notice = lambda line: click.secho(line, fg="yellow", err=True)
    async for event in executor.follow(run_id, after):
        print_event(event, as_json)
    if state is not None:
        say_damaged(state, run_id)
    status = await executor.status(run_id)
    if not as_json:
        from tailor.engine.api.runs import safe

        line = f"{status.run_id}: {status.state_label}" + (f" ({safe(status.error)})" if status.error else "")
        click.secho(line, fg="green" if status.state.value == "succeeded" else "red", err=True)
    return 0 if status.state.value == "succeeded" else 1


def say_damaged(state: CliState, run_id: str) -> None:
    """The damaged event lines readers skipped, once, on stderr (stdout stays events only)."""
    note = state.damaged_events(run_id)
    if note:
        click.secho(f"warning: {note}", fg="yellow", err=True)


def print_event(event: Any, as_json: bool) -> None:
    """One event: its JSON line, or the readable line ``tailor logs`` prints."""
    from tailor.engine.api.runs import event_line

    click.echo(json.dumps(event) if as_json else event_line(event))


def open_dataset(paths: tuple[str, ...]) -> RowSource:
    """PATHS opened as one source of rows (several are read one after another), loaded; a DataError if not."""
    from tailor.engine.api.data import MultiSource, open_rows

    sources = [open_rows(p) for p in paths]
    src = sources[0] if len(sources) == 1 else MultiSource(sources, " + ".join(paths)).start()
    src.wait()
    if src.error:
        from tailor.engine.api.errors import DataError

        raise DataError(src.error)
    return src
