"""``tailor export RUN OUT [--merge]``: write a run's adapter, or a merged model, in Hugging Face format."""

from __future__ import annotations

import click

from tui.cli.common import CliState, run_async, tailor_command


@click.command("export")
@click.argument("run_id")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--merge", is_flag=True, help="Merge a LoRA adapter into the base model (full/partial runs: copy the model).")
@click.option("--checkpoint", metavar="STEP|last", help="Export a checkpoint instead of the final result (for a cancelled or failed run).")
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), help="Weights dtype of a merged model (default: the recipe's).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option("--host", default=None, help="The run is on this SSH host: fetch it first.")
@tailor_command
def export_cmd(
    state: CliState, run_id: str, out: str, merge: bool, checkpoint: str | None, dtype: str | None, force: bool, host: str | None
) -> None:
    """Export RUN's result into the folder OUT (written atomically).

    \b
    tailor export RUN ./my-adapter           the adapter (or full model) as trained
    tailor export RUN --merge ./my-model     base model + LoRA merged: loads with AutoModelForCausalLM
    """
    from engine.export import export_run
    from engine.runs.rundir import RunDir

    ws = state.workspace_obj()
    if host:
        executor = state.executor(host)
    else:
        from engine.executors.factory import executor_for_run

        executor = executor_for_run(ws, run_id)
    # A remote run: bring its adapter and checkpoints into the local mirror first.
    run = RunDir(run_async(_fetch(executor, run_id)).path) if executor.remote else ws.run(run_id)
    click.echo(f"exporting {run.run_id} -> {out}" + (" (merging)" if merge else ""), err=True)
    result = export_run(run, out, merge=merge, checkpoint=checkpoint, force=force, dtype=dtype)
    click.echo(str(result.path))
    if result.check is not None:  # a failing check raised before anything was written
        click.echo(f"checked: the merged model reproduces the run ({result.check.describe()})", err=True)


async def _fetch(executor, run_id: str):
    try:
        return await executor.fetch(run_id)
    finally:
        await executor.close()
