"""Model, tokenizer and tuning-method setup shared by every trainer (SFT, DPO/KTO/ORPO).

``setup_model(recipe, ctx)`` loads the model and tokenizer and applies the recipe's ``method``
(``load_tokenizer_for`` loads the tokenizer alone, first, so config errors come before a big load):

- ``lora`` / ``qlora``: a PEFT ``LoraConfig`` (DoRA and rsLoRA through ``lora.use_dora`` / ``use_rslora``);
  ``qlora`` loads the base model in 4-bit with bitsandbytes and needs CUDA.
- ``prompt_tuning`` / ``prefix_tuning``: PEFT ``PromptTuningConfig`` / ``PrefixTuningConfig``.
- ``full``: every weight trains.
- ``partial``: everything is frozen except the top ``partial.trainable_layers`` decoder layers, the final norm
  and the output head (and the input embeddings with ``partial.train_embeddings``).

PEFT methods return a ``peft_config`` for the TRL trainer, which wraps the model itself after seeding, so
adapter initialisation is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tailor.engine.errors import RecipeError

if TYPE_CHECKING:
    import torch
    from peft import PeftConfig
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from tailor.engine.recipes.common import PartialSpec
    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.worker.context import WorkerContext


@dataclass
class LoadedModel:
    model: PreTrainedModel  # not yet wrapped: the TRL trainer applies ``peft_config``
    tokenizer: PreTrainedTokenizerBase
    peft_config: PeftConfig | None
    path: str  # what from_pretrained was given: the tiny model's folder, a local folder or a hub id


def load_tokenizer_for(recipe: TrainableRecipe, ctx: WorkerContext | None = None) -> tuple[PreTrainedTokenizerBase, str]:
    """(tokenizer, resolved model path); refuses QLoRA without CUDA before anything is loaded."""
    from tailor.engine.models.loading import check_qlora_possible, load_tokenizer, spec_path

    if recipe.method == "qlora":
        check_qlora_possible()  # before any download or load
    path = spec_path(recipe.model, ctx.log if ctx is not None else None)
    shown = f" ({path})" if path != recipe.model.name_or_path else ""
    _log(ctx, f"loading model {recipe.model.name_or_path}{shown}")
    return load_tokenizer(recipe.model, path), path


def setup_model(recipe: TrainableRecipe, ctx: WorkerContext | None = None, tokenizer: PreTrainedTokenizerBase | None = None, path: str | None = None) -> LoadedModel:
    """Load the recipe's model (and tokenizer, unless given) and prepare them for its tuning method.

    Trainers load the tokenizer first (``load_tokenizer_for``) so that a bad ``train:`` block fails
    before a large model is loaded.
    """
    from tailor.engine.models.loading import load_model

    if tokenizer is None or path is None:
        tokenizer, path = load_tokenizer_for(recipe, ctx)
    model = load_model(recipe.model, path, quantization=recipe.quantization if recipe.method == "qlora" else None)
    if recipe.method == "qlora":
        from peft import prepare_model_for_kbit_training

        from tailor.engine.train.config import wants_checkpointing

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=wants_checkpointing(recipe))
    if recipe.method == "partial":
        freeze_for_partial(model, recipe.partial, ctx)
    if recipe.method in ("lora", "qlora"):
        check_target_modules(model, recipe.lora.target_modules)
    return LoadedModel(model, tokenizer, build_peft_config(recipe, path), path)


def check_target_modules(model: torch.nn.Module, targets: list[str] | str) -> None:
    """Refuse ``lora.target_modules`` entries that match no module: PEFT ignores them silently as long
    as another entry matches, and the adapter then trains less than the recipe says."""
    if isinstance(targets, str):
        return  # "all-linear" or a regex: PEFT checks those itself
    import torch

    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) or type(m).__name__ == "Conv1D"]
    leaves = sorted({n.rsplit(".", 1)[-1] for n in names})
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n, _ in model.named_modules())]
    if missing:
        raise RecipeError(
            f"lora.target_modules: {', '.join(missing)} match no module of this model; "
            f"its linear modules are {', '.join(leaves)}"
        )


def build_peft_config(recipe: TrainableRecipe, path: str) -> PeftConfig | None:
    """The PEFT config for the recipe's method, or None for ``full`` and ``partial``."""
    method = recipe.method
    if method in ("lora", "qlora"):
        from peft import LoraConfig

        lora = recipe.lora
        return LoraConfig(
            task_type="CAUSAL_LM",
            r=lora.r,
            lora_alpha=lora.lora_alpha,  # type: ignore[arg-type]  # PEFT annotates int; a float alpha works
            lora_dropout=lora.lora_dropout,
            target_modules=lora.target_modules,
            use_rslora=lora.use_rslora,
            use_dora=lora.use_dora,
            bias=lora.bias,
            modules_to_save=lora.modules_to_save,
        )
    if method == "prompt_tuning":
        from peft import PromptTuningConfig, PromptTuningInit

        spec = recipe.prompt
        text = spec.prompt_tuning_init_text
        return PromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=spec.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT if text else PromptTuningInit.RANDOM,
            prompt_tuning_init_text=text,
            tokenizer_name_or_path=path if text else None,
        )
    if method == "prefix_tuning":
        from peft import PrefixTuningConfig

        spec = recipe.prompt
        return PrefixTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=spec.num_virtual_tokens,
            prefix_projection=spec.encoder_hidden_size is not None,
            encoder_hidden_size=spec.encoder_hidden_size,  # type: ignore[arg-type]  # PEFT's default is None too
        )
    return None


def decoder_layers(model: PreTrainedModel) -> torch.nn.ModuleList:
    """The model's stack of decoder layers (an ``nn.ModuleList``), found without knowing the architecture."""
    import torch.nn as nn

    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    for owner in (decoder, getattr(model, "model", None), getattr(model, "transformer", None)):
        for attr in ("layers", "h", "blocks", "decoder_layers"):
            layers = getattr(owner, attr, None) if owner is not None else None
            if isinstance(layers, nn.ModuleList) and len(layers):
                return layers
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise RecipeError("method: partial: cannot find the decoder layers of this model; use lora or full")
    return max(lists, key=len)


def freeze_for_partial(model: PreTrainedModel, spec: PartialSpec, ctx: WorkerContext | None = None) -> None:
    """Freeze all weights, then unfreeze the top decoder layers, the final norm and the head."""
    layers = decoder_layers(model)
    n = len(layers)
    if spec.trainable_layers > n:
        raise RecipeError(f"partial.trainable_layers: the model has only {n} decoder layers (got {spec.trainable_layers})")
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = list(layers[n - spec.trainable_layers :])
    head = model.get_output_embeddings()
    if head is not None:
        trainable.append(head)
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    norm = getattr(decoder, "norm", None) or getattr(decoder, "final_layernorm", None) or getattr(decoder, "ln_f", None)
    if norm is not None:
        trainable.append(norm)
    if spec.train_embeddings:
        trainable.append(model.get_input_embeddings())
    for module in trainable:
        for p in module.parameters():
            p.requires_grad_(True)
    # With gradient checkpointing, frozen embeddings would cut the graph: make the inputs carry grads.
    if hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()
    _log(ctx, f"partial: training the top {spec.trainable_layers} of {n} decoder layers + head")


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def _log(ctx: WorkerContext | None, message: str, level: str = "info") -> None:
    if ctx is not None:
        ctx.log(message, level)
