"""``tailor chat RUN [--against base|RUN2]``: talk to a fine-tune (and its base) from the terminal.

The CLI twin of the Playground: the same worker (``python -m tailor.engine.chat``, here or on the run's SSH
host), the same messages, so the same seed gives the same text. Prompts come from ``-p`` (one turn
each), else from stdin (one per line), else interactively. Answers go to stdout, one block per model;
the latency of each answer goes to stderr.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from tailor.tui.cli.common import CliState, run_async, tailor_command


@click.command("chat")
@click.argument("run", metavar="RUN", required=False)
@click.option("--against", default=None, metavar="base|RUN2", help="A second model answering beside RUN.")
@click.option("-p", "--prompt", "prompts", multiple=True, help="A user turn (repeat for a multi-turn chat).")
@click.option("--system", default="", help="System prompt.")
@click.option("--temperature", type=float, default=0.0, show_default=True, help="0 = greedy.")
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-new-tokens", type=int, default=64, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--host", default=None, help="Run the chat worker on this host (default: where RUN ran).")
@click.option("--save-to", default=None, metavar="FILE.jsonl", help="Append each exchange as an eval example.")
@click.option("--reference", default=None, metavar="TEXT",
              help="With --save-to: the reference completion to save (default: RUN's answer, unchecked).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per answer.")
@click.option("--list", "list_models", is_flag=True, help="List what can be chatted with (the Playground's a/b picker) and exit.")
@tailor_command
def chat_cmd(
    state: CliState, run: str, against: str | None, prompts: tuple[str, ...], system: str,
    temperature: float, top_p: float, max_new_tokens: int, seed: int, host: str | None,
    save_to: str | None, reference: str | None, as_json: bool, list_models: bool,
) -> None:
    """Chat with RUN (a run id/prefix, `latest`, `base` or model:NAME), optionally beside another model.

    `tailor chat --list` prints the models the Playground offers: succeeded runs and trials, merge runs,
    and merged models written by `tailor export RUN OUT --merge` (as model:PATH).
    """
    if list_models:
        _list(state, as_json)
        return
    if run is None:
        raise click.UsageError("give RUN (a run id, latest, base or model:PATH); `tailor chat --list` lists them")
    if reference is not None and not save_to:
        raise click.UsageError("--reference is the completion saved with --save-to FILE.jsonl; add --save-to")
    from tailor.engine.api.chat import ChatSettings, pair_for

    settings = ChatSettings(temperature, top_p, max_new_tokens, seed)
    try:
        settings.check()
        sides = pair_for(run, against)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    ws = state.workspace_obj()
    where = host or _host_of(ws, run if run != "base" else against)
    run_async(_chat(ws, where, sides, prompts, system, settings, (save_to, reference), as_json))


def _list(state: CliState, as_json: bool) -> None:
    import json

    from tailor.engine.api.evals import model_choices

    found = model_choices(state.workspace_obj())
    if not found:
        click.echo("nothing to chat with yet: train a run (`tailor run demo-sft`) or export one with --merge", err=True)
    for choice in found:
        if as_json:
            click.echo(json.dumps({"ref": choice.ref, "kind": choice.kind, "run_id": choice.run_id, "host": choice.host}))
        else:
            click.echo(f"{choice.ref}\t{choice.kind}\t{choice.host}\t{choice.label}")


def _host_of(ws: Any, ref: str | None) -> str | None:
    """The host a run ran on (a fetched remote run's mirror says which), else local."""
    if not ref or ref.startswith("model:") or ref == "base":
        return None
    from tailor.engine.api.errors import RunError
    from tailor.engine.api.runs import host_of

    try:
        return host_of(ws.run(ref))
    except RunError:
        return None  # `latest` and friends: the worker resolves them where it runs


async def _chat(ws: Any, host: str | None, sides: list[Any], prompts: tuple[str, ...], system: str,
                settings: Any, save: tuple[str | None, str | None], as_json: bool) -> None:
    try:
        for side in sides:
            loaded = await side.open(ws, host)
            click.echo(f"loaded {side.label} in {loaded.get('seconds', 0):.1f} s", err=True)
        for prompt in _prompts(prompts):
            await _turn(sides, prompt, system, settings, save, as_json)
    finally:
        for side in sides:
            await side.close()


def _prompts(given: tuple[str, ...]):
    if given:
        yield from given
        return
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            click.echo("you> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.rstrip("\n")


async def _turn(sides: list[Any], prompt: str, system: str, settings: Any, save: tuple[str | None, str | None],
                as_json: bool) -> None:
    """One prompt to every side; ``save`` = (FILE.jsonl, the reference completion or None: the first side's)."""
    import json

    from tailor.engine.api.chat import latency_line, messages_for

    messages = messages_for(system, sides[0].history, prompt)
    answers: dict[str, str] = {}
    for side in sides:
        if as_json:
            done = await side.ask(system, prompt, settings)
            click.echo(json.dumps({"model": side.label, "prompt": prompt, **{k: v for k, v in done.items() if k != "event"}}))
        else:
            if len(sides) > 1:
                click.secho(f"── {side.label}", bold=True)

            def show(text: str) -> None:
                sys.stdout.write(text)
                sys.stdout.flush()

            done = await side.ask(system, prompt, settings, show)
            click.echo("")
            click.echo(f"   {side.label}: {latency_line(done)}", err=True)
        answers[side.label] = str(done.get("text", ""))
    save_to, reference = save
    if save_to:
        from tailor.engine.api.chat import append_example

        file = append_example(save_to, messages, answers, sides[0].label, reference)
        click.echo(f"saved the exchange to {file}", err=True)
