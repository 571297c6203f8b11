"""Build the TRL config (SFTConfig, DPOConfig, ...) from a recipe's ``train:`` block.

Tailor fills what the run directory owns (output_dir, tqdm; report_to's run name and local stores, see
engine/train/trackers.py) and picks defaults that suit the
machine; anything the recipe sets in ``train:`` wins, except the fields Tailor owns (rejected by the recipe
schema) and the few combinations that cannot work, which are changed with a log line saying so.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import RecipeError

if TYPE_CHECKING:
    from transformers import EarlyStoppingCallback, TrainerCallback

    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.worker.context import WorkerContext


def machine_defaults() -> dict[str, Any]:
    """Defaults that depend on the hardware: mixed precision and pinned memory only pay off on a GPU.

    Activation checkpointing is on everywhere, as in TRL: on a CPU it costs ~30% of the step time, but without
    it the peak RSS grows by most of the activations (measured in docs/training.md's benchmark, most of all for
    DPO), and padding-free batches and the worker's thread count win the speed back.
    """
    import torch

    cuda = torch.cuda.is_available()
    out: dict[str, Any] = {
        "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
        "fp16": bool(cuda and not torch.cuda.is_bf16_supported()),
        "activation_checkpointing": True,
        "dataloader_pin_memory": cuda,
    }
    if not cuda and int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        # Several CPU processes under torchrun (multi-node tests, CPU clusters): DDP over gloo. Without
        # use_cpu, transformers leaves the process group unused and each process trains its own model.
        out.update(use_cpu=True, ddp_backend="gloo")
    return out


# Narrower models lose to the casts around each bf16 matmul (measured on one core: hidden 128, the tiny model,
# ~30% slower; hidden 576, SmolLM2-135M, 1.4-1.6x faster and less peak memory).
CPU_BF16_MIN_HIDDEN = 512


def native_cpu_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (Intel AMX or AVX512-BF16; AMD Zen 4 and later)."""
    import torch

    try:
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes: assume not
        return False


def cpu_mixed_precision(hidden_size: int, train: dict[str, Any], ctx: WorkerContext | None = None) -> dict[str, Any]:
    """bf16 autocast for a run without a GPU, where it pays: ``{"bf16": True, "use_cpu": True}``, else ``{}``.

    As on a GPU, the weights stay in their dtype and the matmuls run in bfloat16 under autocast. A CPU that
    multiplies bf16 in hardware does so 1.4-1.6x faster than float32 for a model as wide as SmolLM2 (docs/
    training.md, Performance); one that emulates it is slower, and so are narrow models. ``use_cpu`` is what
    transformers requires for bf16 without a GPU. A recipe that sets ``train.bf16``, ``fp16`` or ``use_cpu``
    decides itself.
    """
    import torch

    if {"bf16", "fp16", "use_cpu"} & set(train):
        return {}
    if torch.cuda.is_available() or hidden_size < CPU_BF16_MIN_HIDDEN or not native_cpu_bf16():
        return {}
    if ctx is not None:
        ctx.log("bf16 autocast on the CPU (it multiplies bf16 in hardware; train.bf16: false turns it off)")
    return {"bf16": True, "use_cpu": True}


def model_width(model_or_path: Any) -> int:
    """The hidden size of a loaded model or of the model folder/hub id's config (0 when it cannot be read)."""
    try:
        config = getattr(model_or_path, "config", None)
        if config is None:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(str(model_or_path))
        return int(getattr(config.get_text_config(), "hidden_size", 0) or 0)
    except Exception:  # an unreadable config: no CPU mixed precision, the run goes on in the model's dtype
        return 0


def trl_values(recipe: TrainableRecipe, ctx: WorkerContext, *, has_eval: bool, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keyword arguments for the TRL config class: Tailor's defaults, then the recipe's ``train:``."""
    values: dict[str, Any] = {
        "logging_steps": 10,
        "save_strategy": "steps",
        **machine_defaults(),
        **(defaults or {}),
    }
    if has_eval:
        values["eval_strategy"] = "steps"
    if recipe.early_stopping:
        values.update(metric_for_best_model="eval_loss", greater_is_better=False)
    values.update(recipe.train)
    # transformers 5 renamed gradient_checkpointing*; the new name wins when both are set, so map the old one.
    for old, new in (("gradient_checkpointing", "activation_checkpointing"),
                     ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs")):
        if old in values:
            value = values.pop(old)
            if new not in recipe.train:
                values[new] = value
    if "fp16" in recipe.train and recipe.train["fp16"] and "bf16" not in recipe.train:
        values["bf16"] = False
    # Owned by Tailor: the run directory is the only output.
    from tailor.engine.train import trackers

    values.update(trackers.prepare(recipe, ctx))
    values.update(
        output_dir=str(ctx.run.checkpoints_dir),
        disable_tqdm=True,
        seed=recipe.seed,
    )
    values.setdefault("data_seed", recipe.seed)
    if not has_eval and values.get("eval_strategy", "no") != "no":
        ctx.log(f"train.eval_strategy={values['eval_strategy']!r} ignored: the recipe has no eval data", "warning")
        values["eval_strategy"] = "no"
    if recipe.method == "prefix_tuning" and values.get("activation_checkpointing"):
        ctx.log("gradient checkpointing turned off: prefix tuning does not work with it", "warning")
        values["activation_checkpointing"] = False
    return values


def wants_checkpointing(recipe: TrainableRecipe) -> bool:
    """Whether the run will use gradient (activation) checkpointing."""
    train = recipe.train
    for key in ("activation_checkpointing", "gradient_checkpointing"):
        if key in train:
            return bool(train[key])
    return bool(machine_defaults()["activation_checkpointing"])


def build_trl_config(config_cls: type, recipe: TrainableRecipe, ctx: WorkerContext, *, has_eval: bool, defaults: dict[str, Any] | None = None) -> Any:
    """An instance of ``config_cls`` (e.g. ``trl.SFTConfig``); invalid combinations become RecipeErrors."""
    values = trl_values(recipe, ctx, has_eval=has_eval, defaults=defaults)
    try:
        return config_cls(**values)
    except (ValueError, TypeError) as exc:
        text = " ".join(str(exc).split())
        raise RecipeError(f"{ctx.run.recipe_file}: train: {text}") from None


def early_stopping_callback(recipe: TrainableRecipe) -> EarlyStoppingCallback | None:
    """A transformers EarlyStoppingCallback for ``recipe.early_stopping`` (None when not set)."""
    if not recipe.early_stopping:
        return None
    from transformers import EarlyStoppingCallback

    return EarlyStoppingCallback(
        early_stopping_patience=recipe.early_stopping.patience,
        early_stopping_threshold=recipe.early_stopping.threshold,
    )


def tracker_callbacks(recipe: TrainableRecipe, ctx: WorkerContext) -> list[TrainerCallback]:
    """The callback that sends the recipe to the ``train.report_to`` trackers (none without trackers)."""
    from tailor.engine.recipes.trackers import normalise
    from tailor.engine.train import trackers

    if not normalise(recipe.train.get("report_to")):
        return []
    return [trackers.recipe_callback(recipe, ctx)]
