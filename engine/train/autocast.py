"""Mixed precision for the training steps only: evaluation and everything after training run in the weights' dtype.

With ``bf16`` (or ``fp16``) set, accelerate wraps the model's ``forward`` in autocast when the Trainer prepares
it, and the wrapper stays on the model object. Left there, every later use of that object would run in bfloat16
too: the evaluation loss, the reference logits the export check compares a merged model with
(engine/export_check.py), the ``evaluate:`` block's generations. But the weights are float32 (autocast only
rounds the matmuls' inputs), and the merged or exported model runs in float32: on SmolLM2 the bf16 reference
logits were 1.4% away from the very same weights in float32, against the check's 0.1% float32 tolerance.
So what describes the model is computed in its weights' dtype: :func:`evaluate_in_weights_dtype` for the
evaluations during training, :func:`drop_autocast` once training is over. The check's tolerance stays that of
the weights' dtype (loosening it to bfloat16's 4% would let a merge that lost part of the model through).
Both apply to float32 weights (Tailor's CPU default); half-precision weights stay under autocast, which is what
keeps them and their float32 adapters in matching dtypes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def _float32_weights(model: Any) -> bool:
    """Whether every floating-point weight is float32: then the model runs without autocast as it is saved.
    Half-precision weights (with float32 adapters) are left under autocast, which keeps their dtypes matched."""
    import torch

    return all(p.dtype == torch.float32 for p in model.parameters() if p.is_floating_point())


@contextlib.contextmanager
def _in_weights_dtype(trainer: Any) -> Iterator[None]:
    """Inside the block the model runs without autocast: accelerate's forward wrapper is set aside and its own
    ``accelerator.autocast()`` blocks (DPO's reference pass) are disabled."""
    from accelerate.utils import AutocastKwargs  # type: ignore[import-untyped]

    model = trainer.model
    original = model.__dict__.get("_original_forward")  # set by accelerate next to its autocast wrapper
    wrapped = model.__dict__.get("forward")
    accelerator = trainer.accelerator
    handler = accelerator.autocast_handler
    if original is not None and wrapped is not None:
        model.forward = original
    accelerator.autocast_handler = AutocastKwargs(enabled=False)
    try:
        yield
    finally:
        accelerator.autocast_handler = handler
        if original is not None and wrapped is not None:
            model.forward = wrapped


def evaluate_in_weights_dtype(trainer: Any) -> None:
    """Make ``trainer``'s evaluations (during training and after) run in the weights' dtype, so that the eval
    loss is the loss of the model the run saves, whatever precision the steps trained in."""
    if not (trainer.args.bf16 or trainer.args.fp16) or not _float32_weights(trainer.model):
        return
    evaluate = trainer.evaluate

    def in_weights_dtype(*args: Any, **kwargs: Any) -> Any:
        with _in_weights_dtype(trainer):
            return evaluate(*args, **kwargs)

    trainer.evaluate = in_weights_dtype


def drop_autocast(trainer: Any) -> None:
    """After training: take accelerate's autocast wrapper off the model for good (saving, reference logits,
    the ``evaluate:`` block and generation then run in the weights' dtype)."""
    if "_original_forward" in trainer.model.__dict__ and _float32_weights(trainer.model):
        trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
