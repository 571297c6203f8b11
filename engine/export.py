"""Export a run's result: the adapter as is, or a merged model in Hugging Face format.

``export_run(run, out, merge=True)`` loads the base model, applies the run's LoRA adapter and merges it
(``merge_and_unload``); full and partial fine-tunes are already whole models and are copied. Prompt and
prefix tuning cannot be merged (their virtual tokens live outside the weights). The output folder is built
beside ``out`` and renamed into place, so ``out`` is either complete or absent.

The model is loaded along the run's lineage exactly as evaluation loads it (``load_for_export``, which uses
``tailor.engine.eval.candidates``): a run chained with ``from_run`` gets the adapters it was trained on top of
folded in first. When the run recorded reference logits, the merged model must reproduce them, judged in a
dtype-aware way (``tailor.engine.export_check``); a merged model that does not is refused and nothing is written.

Worker-side weight: imports torch/transformers/peft inside functions only.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tailor.engine.errors import RunError
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState

if TYPE_CHECKING:
    from typing import Any

    from tailor.engine.export_check import LogitCheck
    from tailor.engine.recipes.merge import MergeRecipe
    from tailor.engine.recipes.trainable import TrainableRecipe

NOT_MERGEABLE = {"prompt_tuning", "prefix_tuning"}
# Checkpoint files needed only to resume training, not to load the result.
TRAINING_ONLY = {"optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.json", "training_args.bin"}


@dataclass
class ExportResult:
    path: Path
    kind: str  # "adapter", "merged" or "model"
    method: str
    check: LogitCheck | None = None  # the merged model vs the run's reference logits, when recorded

    @property
    def verified(self) -> bool | None:
        return None if self.check is None else self.check.ok

    @property
    def max_logit_diff(self) -> float | None:
        return None if self.check is None else self.check.max_abs


def source_dir(run: RunDir, checkpoint: str | None = None) -> Path:
    """The folder to export: the final adapter/model, or a checkpoint (``"last"`` or a step number)."""
    if checkpoint is not None:
        if checkpoint == "last":
            from tailor.engine.fingerprint import newest_checkpoint

            found = newest_checkpoint(run)
            if found is None:
                raise RunError(f"run {run.run_id} has no checkpoint yet")
            return found
        if not checkpoint.isdigit():
            raise RunError(f"--checkpoint {checkpoint!r}: use a step number or 'last'")
        path = run.checkpoints_dir / f"checkpoint-{int(checkpoint)}"
        if not path.is_dir():
            steps = sorted(int(p.name.split("-")[1]) for p in run.checkpoints_dir.glob("checkpoint-*") if p.name.split("-")[1].isdigit())
            have = ", ".join(map(str, steps)) or "none"
            raise RunError(f"run {run.run_id} has no checkpoint at step {checkpoint} (checkpoints: {have})")
        return path
    status = run.effective_status()
    if status.state != RunState.SUCCEEDED or not run.adapter_dir.is_dir():
        state = status.state.value
        hint = (
            "wait for it to finish"
            if status.state.active
            else f"`tailor resume {run.run_id}` finishes it, or export a checkpoint with --checkpoint last"
        )
        raise RunError(f"run {run.run_id} is {state} and has no final adapter; {hint}")
    return run.adapter_dir


def export_run(
    run: RunDir,
    out: str | Path,
    *,
    merge: bool = False,
    checkpoint: str | None = None,
    force: bool = False,
    dtype: str | None = None,
) -> ExportResult:
    """Write the run's adapter (or, with ``merge``, a merged model) into ``out`` atomically."""
    from tailor.engine.recipes.load import parse_recipe
    from tailor.engine.recipes.merge import MergeRecipe
    from tailor.engine.recipes.trainable import TrainableRecipe

    out = Path(out).expanduser().resolve()
    if not run.exists():
        raise RunError(f"{run.path}: not a run directory")
    recipe = parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file), check_files=False)
    if not isinstance(recipe, TrainableRecipe | MergeRecipe):  # a merge run holds a LoRA adapter
        raise RunError(f"run {run.run_id} is a {recipe.kind} run; only sft and dpo runs train weights to export")
    method = recipe.method
    if merge and method in NOT_MERGEABLE:
        raise RunError(
            f"run {run.run_id} used {method}, which cannot be merged into the model weights (its virtual tokens "
            "live outside them); export the adapter without --merge and load it with PeftModel.from_pretrained"
        )
    src = source_dir(run, checkpoint)
    if out.exists() and not force and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists; choose a new folder or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(3)}"
    try:
        if merge and method in ("lora", "qlora"):
            check = _merge_lora(run, recipe, src, tmp, dtype, checked=checkpoint is None)
            result = ExportResult(out, "merged", method, check)
        else:
            _copy_result(src, tmp)
            result = ExportResult(out, "adapter" if recipe.uses_peft else "model", method)
        replace_path(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return result


def _copy_result(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=lambda _dir, names: [n for n in names if n in TRAINING_ONLY or n.startswith("rng_state")])


def merge_dtype(recipe: TrainableRecipe | MergeRecipe, dtype: str | None) -> str:
    """The dtype a merged model is written in: ``--dtype``, else the recipe's (a QLoRA run merges into its
    compute dtype, never into 4-bit weights)."""
    if dtype is not None:
        return dtype
    spec = recipe.model
    quantization = getattr(recipe, "quantization", None)  # a merge run has none (its method is lora)
    if recipe.method == "qlora" and quantization is not None and spec.dtype == "auto":
        return str(quantization.bnb_4bit_compute_dtype)
    return spec.dtype


def load_for_export(run: RunDir, recipe: TrainableRecipe | MergeRecipe, src: Path | None = None, dtype: str | None = None) -> tuple[Any, Any]:
    """(merged model, tokenizer) of a LoRA run, along its lineage exactly as evaluation loads it.

    ``src`` is the adapter folder (the run's final adapter, or a checkpoint); ``dtype`` as ``merge_dtype``.
    Other exporters (GGUF, Ollama, the Hub) start from this model.
    """
    from tailor.engine.eval.candidates import Candidate, chain_start, load_adapted
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.workspace import workspace_of

    src = src or run.adapter_dir
    base, merge_first = chain_start(workspace_of(run), run, recipe)
    spec = recipe.model if base is None else recipe.model.model_copy(update={"name_or_path": base, "revision": None, "gguf_file": None})
    cand = Candidate(run.run_id, run.run_id, "run", run.run_id, spec, path=src, run_id=run.run_id, merge_first=merge_first)
    tokenizer = load_tokenizer(spec, str(src) if (src / "tokenizer_config.json").exists() else None)
    model = load_adapted(cand, tokenizer, dtype=merge_dtype(recipe, dtype))
    merged = model.merge_and_unload()
    merged.eval()
    return merged, tokenizer


def _merge_lora(run: RunDir, recipe: TrainableRecipe | MergeRecipe, src: Path, dest: Path, dtype: str | None, *, checked: bool) -> LogitCheck | None:
    """Merge the adapter along the run's lineage, check it against the run's reference logits, save."""
    from tailor.engine.train.loop import quiet_libraries

    quiet_libraries()
    merged, tokenizer = load_for_export(run, recipe, src, dtype)
    check = None
    if checked:
        from tailor.engine.export_check import check_merged

        check = check_merged(run, recipe, merged)
        if check is not None and not check.ok:
            raise RunError(f"run {run.run_id}: the merged model does not reproduce the run ({check.describe()}); "
                           "nothing was written. Check that the run's base model and the runs it was chained from "
                           "are unchanged")
    merged.save_pretrained(str(dest))
    tokenizer.save_pretrained(str(dest))
    return check


def replace_path(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` (``--force``) is moved aside first, then removed."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{secrets.token_hex(3)}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
