"""``tailor export`` end to end: the Hugging Face export (engine/export.py), then GGUF, Modelfile, model
card and Hub push, with the commands to run next (``ollama create``, ``vllm serve``).

Everything is built in a hidden folder beside ``out`` and renamed into place, so ``out`` is complete or
absent; checks that need nothing heavy (converter present, quantiser present, Hub reachable, the tiny
model's tokenizer) run before any model is loaded.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tailor.engine import stack
from tailor.engine.exporters.gguf import ExportError
from tailor.engine.runs.rundir import RunDir

if TYPE_CHECKING:
    from tailor.engine.export_check import LogitCheck


@dataclass
class ExportReport:
    path: Path
    kind: str  # adapter | merged | model | gguf
    files: list[Path] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)  # commands to run next, one per line
    max_logit_diff: float | None = None
    verified: bool | None = None
    url: str | None = None
    check: LogitCheck | None = None  # the merged model against the run (engine/export_check.py)


def _record(run: RunDir, out: Path, kind: str, base: str) -> None:
    """Note the export in the workspace (engine/runs/exports.py) so the model pickers offer it."""
    from tailor.engine.runs.exports import record_export
    from tailor.engine.workspace import workspace_of

    if run.path.parent.name != "runs":  # a run folder outside any workspace
        return
    with contextlib.suppress(OSError):  # a read-only workspace: the export itself still succeeded
        record_export(workspace_of(run), out, kind, run.run_id, base)


def _recipe(run: RunDir):
    from tailor.engine.recipes.load import parse_recipe

    return parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file), check_files=False)


def export(
    run: RunDir,
    out: str | Path,
    *,
    merge: bool = False,
    gguf: bool = False,
    quant: str = "f16",
    modelfile: bool = False,
    push_to_hub: str | None = None,
    private: bool = False,
    checkpoint: str | None = None,
    force: bool = False,
    dtype: str | None = None,
) -> ExportReport:
    from tailor.engine.export import export_run, replace_path
    from tailor.engine.exporters import gguf as gguf_mod
    from tailor.engine.exporters import hub, modelcard, ollama, vllm

    out = Path(out).expanduser().resolve()
    recipe = _recipe(run)
    base = recipe.model.name_or_path
    if merge or gguf:  # they load the model here; copying the adapter needs no training stack
        stack.require("a merged or GGUF export")
    if modelfile and not gguf:
        raise ExportError("--modelfile goes with --gguf (Ollama imports the GGUF file the Modelfile names)")
    if gguf:
        if base == "tailor/tiny":
            raise ExportError(
                "the built-in tailor/tiny model has a character tokenizer that llama.cpp cannot represent; "
                "GGUF export needs a base model with a BPE or SentencePiece tokenizer"
            )
        gguf_mod.check_quant(quant)  # locates the converter (and llama-quantize) before any work
    if push_to_hub:
        hub.check_online(push_to_hub)
    if out.exists() and not force and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists; choose a new folder or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.stage-{secrets.token_hex(3)}"
    hf_dir = stage / "hf" if gguf else stage / "out"
    try:
        result = export_run(run, hf_dir, merge=merge or gguf, checkpoint=checkpoint, force=True, dtype=dtype)
        report = ExportReport(
            out, result.kind, max_logit_diff=result.max_logit_diff, verified=result.verified, check=result.check
        )
        if gguf:
            from transformers import AutoTokenizer

            folder = stage / "out"
            folder.mkdir()
            name = f"{run.run_id}.{quant.lower()}.gguf"
            gguf_mod.convert(hf_dir, folder / name, quant)
            report.kind = "gguf"
            if modelfile:
                tokenizer = AutoTokenizer.from_pretrained(str(hf_dir))
                generation = (getattr(recipe, "evaluate", None) or {}).get("generation")
                ollama.write(folder, name, tokenizer, generation)
                report.next_steps.append(ollama.create_command(out, run.run_id.lower()))
            shutil.rmtree(hf_dir)
        else:
            folder = hf_dir
        modelcard.write(run, folder, kind=report.kind, base_model=base)
        replace_path(folder, out)
        _record(run, out, report.kind, base)
        report.files = sorted(p for p in out.iterdir() if p.is_file())
        if report.kind == "adapter" and (out / "adapter_config.json").is_file():
            report.next_steps.append(vllm.serve_command(base, out, run.run_id))
        if push_to_hub:
            report.url = hub.push(out, push_to_hub, private=private)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(stage)
    return report
