"""Export a run's result: the adapter as is, or a merged model in Hugging Face format.

``export_run(run, out, merge=True)`` loads the base model, applies the run's LoRA adapter and merges it
(``merge_and_unload``); full and partial fine-tunes are already whole models and are copied. Prompt and
prefix tuning cannot be merged (their virtual tokens live outside the weights). The output folder is built
beside ``out`` and renamed into place, so ``out`` is either complete or absent. When the run recorded
reference logits, the merged model is checked against them.

Worker-side weight: imports torch/transformers/peft inside functions only.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import RunError
from engine.runs.rundir import RunDir
from engine.runs.status import RunState

if TYPE_CHECKING:
    from engine.recipes.trainable import TrainableRecipe

NOT_MERGEABLE = {"prompt_tuning", "prefix_tuning"}
# Checkpoint files needed only to resume training, not to load the result.
TRAINING_ONLY = {"optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.json", "training_args.bin"}
MERGE_TOLERANCE = 1e-3  # max |logit difference| accepted between the merged model and the run's final model


@dataclass
class ExportResult:
    path: Path
    kind: str  # "adapter", "merged" or "model"
    method: str
    max_logit_diff: float | None = None  # vs the run's reference logits, when checked

    @property
    def verified(self) -> bool | None:
        if self.max_logit_diff is None:
            return None
        return self.max_logit_diff <= MERGE_TOLERANCE


def source_dir(run: RunDir, checkpoint: str | None = None) -> Path:
    """The folder to export: the final adapter/model, or a checkpoint (``"last"`` or a step number)."""
    if checkpoint is not None:
        if checkpoint == "last":
            from engine.train.loop import resume_checkpoint

            found = resume_checkpoint(run)
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
    from engine.recipes.load import parse_recipe
    from engine.recipes.trainable import TrainableRecipe

    out = Path(out).expanduser().resolve()
    if not run.exists():
        raise RunError(f"{run.path}: not a run directory")
    recipe = parse_recipe(run.recipe_file.read_text(encoding="utf-8"), source=str(run.recipe_file), check_files=False)
    if not isinstance(recipe, TrainableRecipe) and recipe.kind != "merge":  # a merge run holds a LoRA adapter
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
            diff = _merge_lora(recipe, src, tmp, dtype, reference=None if checkpoint else run)
            result = ExportResult(out, "merged", method, diff)
        else:
            _copy_result(src, tmp)
            result = ExportResult(out, "adapter" if recipe.uses_peft else "model", method)
        _replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return result


def _copy_result(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=lambda _dir, names: [n for n in names if n in TRAINING_ONLY or n.startswith("rng_state")])


def _merge_lora(recipe: TrainableRecipe, src: Path, dest: Path, dtype: str | None, reference: RunDir | None) -> float | None:
    """Load the base model unquantised, apply the adapter, merge, save with the tokenizer."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    from engine.models.loading import hub_errors, load_model
    from engine.train.loop import quiet_libraries

    quiet_libraries()
    spec = recipe.model
    if dtype is None:
        # QLoRA trained on a 4-bit base; merge into the compute dtype, never into 4-bit weights.
        dtype = recipe.quantization.bnb_4bit_compute_dtype if recipe.method == "qlora" and spec.dtype == "auto" else spec.dtype
    base = load_model(spec, dtype=dtype)
    with hub_errors(str(src)):
        model = PeftModel.from_pretrained(base, str(src))
    merged = model.merge_and_unload()
    merged.eval()
    diff = None
    if reference is not None:
        from engine.train.loop import compare_logits, load_reference_logits

        ref = load_reference_logits(reference)
        if ref is not None:
            diff = compare_logits(ref, merged)
    merged.save_pretrained(str(dest))
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(dest))
    return diff


def _replace(tmp: Path, out: Path) -> None:
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
