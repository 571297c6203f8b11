"""Run a prepared TRL trainer inside a worker: resume, cancel, final save, reference logits.

Shared by every trainer kind (SFT, DPO, ...): build the trainer with ``TailorCallback`` in its callbacks,
then call :func:`train_and_save`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.runs.rundir import RunDir

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase, Trainer

    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.train.callback import TailorCallback
    from tailor.engine.worker.context import WorkerContext

REFERENCE_FILE = "reference_logits.safetensors"
REFERENCE_TEXT = "Tailor reference input: Reverse: abcd"
REFERENCE_VOCAB = 4096  # logits kept per position (all of a small vocabulary); the argmax covers the rest


def quiet_libraries() -> None:
    """No progress bars or info chatter in stderr.log: events are the interface."""
    import warnings

    import datasets
    import transformers

    # PEFT 0.21 reads a property transformers 5 deprecated: a warning per run the user can do nothing about.
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_warning()
    transformers.utils.logging.disable_progress_bar()


def train_and_save(trainer: Any, recipe: TrainableRecipe, ctx: WorkerContext) -> bool:
    """Train (resuming when asked), then save the final adapter or model. False when cancelled."""
    from transformers.trainer_callback import PrinterCallback

    from tailor.engine.fingerprint import newest_checkpoint
    from tailor.engine.train.methods import count_parameters

    trainer.remove_callback(PrinterCallback)  # logs go to events, not stdout.log
    trainable, total = count_parameters(trainer.model)
    ctx.log(f"method {recipe.method}: {trainable:,} trainable parameters of {total:,} ({100 * trainable / max(total, 1):.2f}%)")
    checkpoint = newest_checkpoint(ctx.run) if ctx.resume else None
    if ctx.resume:
        where = checkpoint.relative_to(ctx.run.path) if checkpoint else None
        ctx.log(f"resuming from {where}" if where else "no checkpoint to resume from: starting over")
    if ctx.cancel_requested:
        return False
    callback = tailor_callback(trainer)
    if callback is not None and getattr(ctx, "primary", True):
        callback.fingerprint = worker_fingerprint(trainer, ctx)
    from tailor.engine.train.autocast import drop_autocast, evaluate_in_weights_dtype
    from tailor.engine.train.config import model_width
    from tailor.engine.train.cpu import trained_positions_only

    evaluate_in_weights_dtype(trainer)
    cpu = time.process_time()
    with trained_positions_only(trainer.args, ctx.log, model_width(trainer.model)):
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    drop_autocast(trainer)  # from here on (saving, reference logits, generation) in the weights' dtype
    emit_summary(trainer, ctx, time.process_time() - cpu)
    # The callback's decision, not the flag: with several ranks they all stopped together on it.
    if callback.cancelling if callback is not None else ctx.cancel_requested:
        ctx.log(f"stopped at step {trainer.state.global_step}; `tailor resume {ctx.run.run_id}` continues from the checkpoint")
        return False
    save_final(trainer, recipe, ctx)
    return True


def worker_fingerprint(trainer: Trainer, ctx: WorkerContext) -> dict[str, Any]:
    """What this run trains with (engine/fingerprint.py), plus the TRL arguments in effect; each
    checkpoint and the final adapter record it with their step and epoch."""
    from tailor.engine.fingerprint import light_fingerprint

    args = {k: v for k, v in trainer.args.to_dict().items() if isinstance(v, str | int | float | bool | None)}
    return {**light_fingerprint(ctx.run), "trl_args": args}


def tailor_callback(trainer: Trainer) -> TailorCallback | None:
    from tailor.engine.train.callback import TailorCallback

    return next((c for c in trainer.callback_handler.callbacks if isinstance(c, TailorCallback)), None)


def emit_summary(trainer: Trainer, ctx: WorkerContext, cpu_seconds: float) -> None:
    """One ``summary`` event: the Trainer's whole-run figures plus the process CPU time of ``train()``."""
    callback = tailor_callback(trainer)
    if callback is not None and callback.summary is not None:
        values = {**callback.summary, "train_cpu_seconds": round(cpu_seconds, 3)}
        # what the run cost (compare tables): GPUs it held (0 on CPU; every rank's device), tokens it saw
        args = trainer.args
        values["gpus"] = args.world_size if getattr(args.device, "type", "cpu") == "cuda" else 0
        tokens = getattr(trainer.state, "num_input_tokens_seen", 0) or callback.last_tokens
        if tokens:
            values["train_tokens"] = float(tokens)
        ctx.emit("summary", step=trainer.state.global_step, values=values)


def save_final(trainer: Any, recipe: TrainableRecipe, ctx: WorkerContext) -> Path:
    """Save the adapter (PEFT methods) or the whole model (full, partial) + tokenizer into ``adapter/``."""
    run: RunDir = ctx.run
    final = run.adapter_dir
    tmp = run.path / ".adapter.tmp"
    primary = getattr(ctx, "primary", True)  # rank 0 of a multi-GPU worker (the others only help save)
    if primary:
        shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))  # every rank: sharded weights are gathered here
    if not primary:
        return final
    if trainer.processing_class is not None:
        trainer.processing_class.save_pretrained(str(tmp))
    (tmp / "training_args.bin").unlink(missing_ok=True)  # a pickle: not needed to load the result
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    callback = tailor_callback(trainer)
    if callback is not None and callback.fingerprint is not None:
        callback.record_fingerprint(final, trainer.state)
    kind = "adapter" if recipe.uses_peft else "model"
    ctx.artifact(kind, final, method=recipe.method, base_model=recipe.model.name_or_path)
    try:
        save_reference_logits(trainer.model, trainer.processing_class, run.eval_dir / REFERENCE_FILE)
    except Exception as exc:  # a check for export, never a reason to fail the run
        ctx.log(f"could not record reference logits: {exc}", "warning")
    return final


def reference_inputs(tokenizer: PreTrainedTokenizerBase) -> torch.Tensor:
    import torch

    ids = tokenizer(REFERENCE_TEXT, add_special_tokens=False)["input_ids"]
    return torch.tensor([ids], dtype=torch.long)


def model_logits(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """Float32 logits of ``model`` for ``input_ids`` in eval mode (dropout off), on the model's device."""
    import torch

    was_training = model.training
    model.eval()
    try:
        device = next(p.device for p in model.parameters())
        with torch.no_grad():
            out = model(input_ids=input_ids.to(device), attention_mask=torch.ones_like(input_ids).to(device))
        return out.logits[0].float().cpu()
    finally:
        model.train(was_training)


def save_reference_logits(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, path: Path) -> None:
    """The final model's logits on a fixed input: export (and tests) check a reload reproduces them."""
    from safetensors.torch import save_file

    input_ids = reference_inputs(tokenizer)
    logits = model_logits(model, input_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            "input_ids": input_ids[0].contiguous(),
            "logits": logits[:, :REFERENCE_VOCAB].contiguous(),
            "argmax": logits.argmax(-1).contiguous(),
        },
        str(path),
    )


def load_reference_logits(run: RunDir) -> dict[str, torch.Tensor] | None:
    path = run.eval_dir / REFERENCE_FILE
    if not path.exists():
        return None
    from safetensors.torch import load_file

    return load_file(str(path))


def compare_logits(reference: dict[str, torch.Tensor], model: torch.nn.Module) -> float:
    """Largest absolute difference between ``model``'s logits and the recorded ones (inf if shapes differ)."""
    logits = model_logits(model, reference["input_ids"][None, :])
    sliced = logits[:, : reference["logits"].shape[1]]
    if sliced.shape != reference["logits"].shape:
        return float("inf")
    return float((sliced - reference["logits"]).abs().max())
