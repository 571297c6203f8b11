"""``tailor data ls | show | check | convert``: the headless twin of the Datasets screen."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tailor.engine.api import kinds
from tailor.tui.cli.common import CliState, open_dataset, tailor_command


def _formats() -> list[str]:
    from typing import get_args

    from tailor.engine.api.recipes import DataFormat

    return list(get_args(DataFormat))


_FORMATS = _formats()


@click.group("data")
def data_cmd() -> None:
    """Open, check and convert datasets (JSONL, JSON, CSV/TSV, Parquet, Arrow, text, folders, globs, hub ids)."""


def _registry(paths: tuple[str, ...]) -> bool:
    """Print a LLaMA-Factory dataset_info.json's datasets (True when PATHS is one)."""
    from tailor.engine.api.data import is_registry, registry_entries

    if len(paths) != 1 or not is_registry(paths[0]):
        return False
    entries = registry_entries(Path(paths[0]).expanduser())
    usable = [e for e in entries if not e.unsupported]
    why: dict[str, int] = {}
    for e in entries:
        if e.unsupported:
            key = "file not beside it" if "is not beside" in e.unsupported else e.unsupported.split(" ")[0].strip(";")
            why[key] = why.get(key, 0) + 1
    rest = ", ".join(f"{n} {k}" for k, n in why.items())
    click.echo(
        f"{paths[0]}: LLaMA-Factory registry, {len(entries)} datasets, {len(usable)} readable here"
        + (f" ({rest})" if rest else "")
        + "; use PATH#name in a recipe or here"
    )
    width = max((len(e.name) for e in entries), default=4)
    for e in entries:
        what = f"unsupported: {e.unsupported}" if e.unsupported else f"{e.format}  {e.file}"
        click.echo(f"  {e.name:{width}}  {what}")
    return True


def _remember(state: CliState, paths: tuple[str, ...]) -> None:
    from tailor.engine.api.data import remember

    try:
        ws = state.workspace_obj()
        for p in reversed(paths):
            remember(ws, p)  # stored absolute (engine/data/catalog.py)
    except Exception:  # the recent list is a convenience, never a failure
        pass


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _plan_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--recipe / --model / --train-on / --prompt-completion / --max-length: what the SFT trainer would use."""
    options = [
        click.option("--recipe", "recipe_path", default=None, type=click.Path(dir_okay=False),
                     help="An SFT recipe: its model, train_on, prompt_completion and max_length (options below win)."),
        click.option("-m", "--model", default=None, help="Whose chat template and tokenizer [recipe's, else tailor/tiny]."),
        click.option("--train-on", type=click.Choice(["assistant", "all"]), default=None,
                     help="Tokens in the loss [recipe's train_on, else assistant]."),
        click.option("--prompt-completion", type=click.Choice(["chat", "raw"]), default=None,
                     help="Plain prompt/completion strings: through the chat template or concatenated [chat]."),
        click.option("--max-length", type=click.IntRange(min=1), default=None,
                     help="Where sequences are cut [recipe's train.max_length, else the trainer's default for the model]."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def plan_from_options(recipe_path: str | None, model: str | None, train_on: str | None,
                      prompt_completion: str | None, max_length: int | None) -> tuple[str, Any, Any]:
    """(model name, tokenizer, LossPlan) exactly as the SFT trainer would build them (engine.data.render)."""
    from tailor.engine.api.data import load_tokenizer, loss_plan
    from tailor.engine.api.recipes import ModelSpec

    spec, fields, train = ModelSpec(), {"train_on": "assistant", "prompt_completion": "chat"}, {}
    if recipe_path:
        from tailor.engine.api.errors import RecipeError
        from tailor.engine.api.recipes import SFTRecipe, load_recipe

        recipe = load_recipe(recipe_path, check_files=False)
        if not isinstance(recipe, SFTRecipe):
            raise RecipeError(f"--recipe {recipe_path}: a {recipe.kind} recipe; the loss preview follows SFT recipes")
        spec, train = recipe.model, recipe.train
        fields = {"train_on": recipe.train_on, "prompt_completion": recipe.prompt_completion}
    if model:
        spec = ModelSpec(name_or_path=model)
    tok = load_tokenizer(spec)
    plan = loss_plan(
        tok,
        train_on=train_on or fields["train_on"],
        prompt_completion=prompt_completion or fields["prompt_completion"],
        train=train,
        max_length=max_length if max_length is not None else "default",
    )
    return spec.name_or_path, tok, plan


@data_cmd.command("ls")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@tailor_command
def ls_cmd(state: CliState, as_json: bool) -> None:
    """List the workspace's datasets, the paths its recipes use, and recently used paths."""
    from tailor.engine.api.data import all_datasets

    entries = all_datasets(state.workspace_obj())
    if as_json:
        for e in entries:
            click.echo(
                json.dumps(
                    {"path": e.path, "origin": e.origin, "size": e.size, "kind": e.kind, "exists": e.exists}
                )
            )
        return
    if not entries:
        click.echo("no datasets yet: put files in the workspace's data/ folder or `tailor data show PATH`")
        return
    width = max(len(e.path) for e in entries)
    for e in entries:
        click.echo(f"{e.path:{width}}  {e.kind or '-':12} {_size(e.size):>9}  {e.origin}")


@data_cmd.command("show")
@click.argument("paths", nargs=-1, required=True)
@click.option("-n", "--rows", "count", type=int, default=10, show_default=True, help="Rows to print.")
@click.option("--start", type=int, default=1, show_default=True, help="First row (numbered from 1, as the TUI).")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON lines.")
@click.option("--row", type=int, default=None,
              help="Show row N (numbered from 1, as the TUI's row N/M) as the trainer tokenizes it.")
@_plan_options
@tailor_command
def show_cmd(state: CliState, paths: tuple[str, ...], count: int, start: int, as_json: bool, row: int | None,
             **plan_options: Any) -> None:
    """Print rows of PATHS (files, globs, folders or a hub id) with the detected format.

    With --row N: that row rendered through the model's chat template exactly as the SFT trainer would for
    that model and recipe (loss, max_length, template), trained-on tokens marked.
    """
    from tailor.engine.api.data import DESCRIPTIONS, cell_text, detect

    if _registry(paths):
        return
    src = open_dataset(paths)
    _remember(state, paths)
    if row is not None:
        from tailor.tui.cli.views import show_rendered

        model, tok, plan = plan_from_options(**plan_options)
        show_rendered(src, row, model, tok, plan, as_json)
        return
    if start < 1:
        raise click.BadParameter(f"{start}: rows are numbered from 1 (as the TUI shows them)", param_hint="--start")
    records = src.records(start - 1, count)
    if as_json:
        for rec in records:
            click.echo(
                json.dumps(rec.data, ensure_ascii=False, default=str)
                if rec.ok
                else json.dumps({"error": str(rec.loc) + ": " + (rec.error or "")})
            )
        return
    fmt = detect([r.data for r in src.records(0, 50) if r.ok and r.data is not None])
    click.echo(f"{src.label}: {len(src)} rows, {DESCRIPTIONS.get(fmt or '', 'unknown format')}")
    cols = src.columns()
    for number, rec in enumerate(records, start):
        if not rec.ok:
            click.secho(f"row {number}  {rec.loc.short}  ! {rec.error}", fg="red")
            continue
        cells = "  ".join(
            f"{c}={cell_text((rec.data or {}).get(c), 40)}" for c in cols if c in (rec.data or {})
        )
        click.echo(f"row {number}  {rec.loc.short}  {cells}")


@data_cmd.command("check")
@click.argument("paths", nargs=-1, required=True)
@_plan_options
@click.option("--eval", "eval_path", default=None,
              help="An eval set to check for overlap with PATHS (default: the eval file beside a train file, as the TUI).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="auto", help="Override format detection.")
@click.option("--no-tokens", is_flag=True, help="Skip token lengths (no tokenizer load).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 when training would refuse the data (see the verdict).")
@tailor_command
def check_cmd(
    state: CliState,
    paths: tuple[str, ...],
    eval_path: str | None,
    fmt: str,
    no_tokens: bool,
    as_json: bool,
    strict: bool,
    **plan_options: Any,
) -> None:
    """Quality report: rows, empty/missing fields, duplicates, token lengths, overlap, bad rows."""
    from tailor.engine.api.data import add_overlap, add_token_lengths, scan

    if _registry(paths):
        return
    src = open_dataset(paths)
    _remember(state, paths)
    report = scan(src.iter_records(), src.label, fmt=fmt)
    if eval_path is None and len(paths) == 1:  # the Datasets screen's report checks the same file
        from tailor.engine.api.data import sibling_eval

        eval_path = sibling_eval(paths[0])
    if eval_path:
        ev = open_dataset((eval_path,))
        add_overlap(report, scan(ev.iter_records(), ev.label, fmt=fmt, near=False))
    from tailor.engine.api.data import tokenizer_refusal

    skipped = None if no_tokens else tokenizer_refusal("counting tokens")
    if skipped:  # a light install: the rest of the report needs no tokenizer
        click.echo(f"note: {skipped}", err=True)
    if not no_tokens and not skipped and report.converted:
        model, tok, plan = plan_from_options(**plan_options)
        add_token_lengths(report, tok, name=model, plan=plan)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_report(report)
    from tailor.engine.api.data import refusal

    if strict and refusal(report):
        sys.exit(1)


@data_cmd.command("convert")
@click.argument("paths", nargs=-1, required=True)
@click.option("-t", "--task", type=click.Choice(kinds.data_tasks()), default="sft", show_default=True)
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="auto", help="Source format (default: detect).")
@click.option(
    "-c",
    "--column",
    "mapping",
    multiple=True,
    metavar="CANONICAL=SOURCE",
    help="Map a column, e.g. -c prompt=question.",
)
@click.option("--system", default=None, help="A system prompt to add.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write JSONL here (default: stdout).",
)
@tailor_command
def convert_cmd(
    state: CliState,
    paths: tuple[str, ...],
    task: str,
    fmt: str,
    mapping: tuple[str, ...],
    system: str | None,
    output: str | None,
) -> None:
    """Convert PATHS to TRL's standard format for TASK as JSONL (refuses bad rows, naming file and line)."""
    from tailor.engine.api.data import validate_training_data
    from tailor.engine.api.errors import DataError
    from tailor.engine.api.recipes import DataSource, DataSpec
    from tailor.engine.api.workspace import atomic_write_text

    columns = {}
    for item in mapping:
        if "=" not in item:
            raise DataError(f"--column {item!r}: use CANONICAL=SOURCE, e.g. prompt=question")
        key, value = item.split("=", 1)
        columns[key.strip()] = value.strip()
    try:
        spec = DataSpec(
            train=[DataSource(path=p, format=fmt, columns=columns) for p in paths], system_prompt=system
        )
    except ValueError as exc:
        raise DataError(f"--format {fmt!r}: {' '.join(str(exc).split())[:200]}") from None
    if output:
        out_path = Path(output).expanduser().resolve()
        for p in paths:  # writing over an input would destroy it before it is read
            if Path(p).expanduser().exists() and Path(p).expanduser().resolve() == out_path:
                raise DataError(f"-o {output}: that is the input file {p}; write to another file")
    parts = validate_training_data(spec, task=task)  # type: ignore[arg-type]
    lines = [json.dumps(row, ensure_ascii=False) for part in parts for row in part.rows]
    text = "\n".join(lines) + "\n"
    if output:
        atomic_write_text(output, text, mode=0o644)
        formats = ", ".join(sorted({p.format for p in parts}))
        click.echo(f"wrote {len(lines)} rows ({formats} -> {task}) to {output}", err=True)
    else:
        click.echo(text, nl=False)


BAR = 40


def histogram_lines(report, width: int = BAR) -> list[str]:
    lens = report.lengths
    if not lens or not lens.lengths:
        return []
    buckets = lens.histogram()
    top = max(c for _, _, c in buckets) or 1
    out = []
    for low, high, count in buckets:
        bar = "█" * round(count / top * width)
        over = " !" if lens.max_length and high > lens.max_length else ""
        out.append(f"  {low:>6}-{high:<6} {bar:<{width}} {count}{over}")
    return out


def print_report(report) -> None:
    from tailor.engine.api.data import summary

    click.secho(report.label, bold=True)
    for label, value, bad in summary(report):
        text = click.style(value, fg="yellow") if bad and label else value
        click.echo(f"{label:<26} {text}" if label else f"{'':<26}   {text}")
    for text in histogram_lines(report):
        click.echo(text)


def _twins() -> None:
    """The Datasets screen's other views as subcommands (tui/cli/views.py)."""
    from tailor.tui.cli.views import freq_cmd, new_recipe_cmd

    data_cmd.add_command(freq_cmd)
    data_cmd.add_command(new_recipe_cmd)


_twins()
