"""``tailor export RUN OUT [--merge] [--gguf [--quant Q] [--modelfile]] [--push-to-hub REPO [--private]]``.

The adapter or merged model in Hugging Face format, or a GGUF (llama.cpp's converter) with an Ollama
Modelfile; a README.md model card always; the Hub when asked (engine/exporters/targets.py).
"""

from __future__ import annotations

import click

from tailor.tui.cli.common import CliState, run_async, tailor_command


@click.command("export")
@click.argument("run_id")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--merge", is_flag=True, help="Merge a LoRA adapter into the base model (full/partial runs: copy the model).")
@click.option("--checkpoint", metavar="STEP|last", help="Export a checkpoint instead of the final result (for a cancelled or failed run).")
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), help="Weights dtype of a merged model (default: the recipe's).")
@click.option("--gguf", is_flag=True, help="Write a GGUF of the merged model (llama.cpp's convert_hf_to_gguf.py; see TAILOR_LLAMA_CPP).")
@click.option("--quant", default="f16", show_default=True, metavar="TYPE", help="GGUF type: f32, f16, bf16, q8_0 (the converter); q4_k_m, q5_k_m, q6_k... need llama-quantize.")
@click.option("--modelfile", is_flag=True, help="With --gguf: an Ollama Modelfile beside the GGUF, and the `ollama create` command.")
@click.option("--push-to-hub", "push_to_hub", metavar="OWNER/NAME", help="Push the exported folder (with its model card) to this Hub repository.")
@click.option("--private", is_flag=True, help="With --push-to-hub: create the repository private.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option("--host", default=None, help="The run is on this SSH host: fetch it first.")
@tailor_command
def export_cmd(
    state: CliState, run_id: str, out: str, merge: bool, checkpoint: str | None, dtype: str | None,
    gguf: bool, quant: str, modelfile: bool, push_to_hub: str | None, private: bool, force: bool, host: str | None,
) -> None:
    """Export RUN's result into the folder OUT (written atomically).

    \b
    tailor export RUN ./my-adapter           the adapter (or full model) as trained
    tailor export RUN --merge ./my-model     base model + LoRA merged: loads with AutoModelForCausalLM
    tailor export RUN --gguf --quant q8_0 --modelfile ./gguf    for llama.cpp / Ollama
    tailor export RUN ./my-adapter --push-to-hub me/my-adapter --private
    """
    from tailor.engine.api.export import export
    from tailor.engine.api.runs import RunDir

    ws = state.workspace_obj()
    if host:
        executor = state.executor(host)
    else:
        from tailor.engine.api.executors import executor_for_run

        executor = executor_for_run(ws, run_id)
    # A remote run: bring its adapter and checkpoints into the local mirror first.
    run = RunDir(run_async(_fetch(executor, run_id)).path) if executor.remote else ws.run(run_id)
    what = " (GGUF " + quant + ")" if gguf else " (merging)" if merge else ""
    click.echo(f"exporting {run.run_id} -> {out}{what}", err=True)
    result = export(
        run, out, merge=merge, gguf=gguf, quant=quant, modelfile=modelfile, push_to_hub=push_to_hub,
        private=private, checkpoint=checkpoint, force=force, dtype=dtype,
    )
    click.echo(str(result.path))
    for step in result.next_steps:
        click.echo(f"next: {step}", err=True)
    if result.url:
        click.echo(f"pushed: {result.url}", err=True)
    if result.check is not None:  # a failing check raised before anything was written
        click.echo(f"checked: the merged model reproduces the run ({result.check.describe()})", err=True)


async def _fetch(executor, run_id: str):
    try:
        return await executor.fetch(run_id)
    finally:
        await executor.close()
