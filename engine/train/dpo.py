"""``kind: dpo``: preference alignment inside a worker — TRL's DPOTrainer, KTOTrainer or ORPOTrainer.

- ``trainer: dpo`` takes prompt/chosen/rejected pairs; every loss TRL offers (``loss_type``, combined with
  ``loss_weights``). With a PEFT method the frozen base (adapter switched off) is the reference, so no second
  model is kept in memory; with ``full`` / ``partial`` a frozen copy of the starting model is (or
  ``ref_model``), unless ``precompute_ref_log_probs`` scores the data once before training.
- ``trainer: kto`` takes prompt/completion/label rows (paired data is split into two labelled rows).
- ``trainer: orpo`` (``trl.experimental.orpo``) takes pairs and needs no reference at all.

Bad data is refused before the model loads (engine.data.prepare), naming the file and line of each bad row.
Metrics go through the shared TailorCallback untouched: ``rewards/chosen``, ``rewards/margins``... (see
docs/preference.md).
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import DataError
from tailor.engine.train.loop import quiet_libraries, train_and_save

if TYPE_CHECKING:
    import datasets
    import torch
    from peft import PeftConfig, PeftModel
    from transformers import (
        PreTrainedTokenizerBase,
        TrainerCallback,
        TrainerControl,
        TrainerState,
        TrainingArguments,
    )

    from tailor.engine.recipes.dpo import DPORecipe
    from tailor.engine.train.chain import Source
    from tailor.engine.worker.context import WorkerContext


def run_dpo(recipe: DPORecipe, ctx: WorkerContext) -> None:
    quiet_libraries()
    os.environ.setdefault("TQDM_DISABLE", "1")  # TRL's reference-log-prob pass draws a bar into stderr.log
    from tailor.engine.data.prepare import load_training_data
    from tailor.engine.train.callback import TailorCallback
    from tailor.engine.train.chain import model_for, resolve_source, write_lineage
    from tailor.engine.train.config import (
        build_trl_config,
        cpu_mixed_precision,
        early_stopping_callback,
        model_width,
        tracker_callbacks,
    )
    from tailor.engine.train.sft import warn_truncation

    train, evaluation = load_training_data(recipe.data, task=recipe.data_task, seed=recipe.seed, log=ctx.log)
    ctx.log(
        f"data: {len(train)} train rows"
        + (f", {len(evaluation)} eval rows" if evaluation is not None else "")
        + f" ({recipe.data_task.replace('_', ' ')})"
    )
    if recipe.trainer == "kto":
        check_kto_labels(train, ctx)
    source = resolve_source(recipe, ctx) if recipe.from_run else None
    model, tokenizer, peft_config = model_for(recipe, ctx, source)
    from tailor.engine.data.fit import refuse_unrenderable_dataset

    refuse_unrenderable_dataset(train, tokenizer, recipe.model.name_or_path)

    config_cls, trainer_cls = trl_classes(recipe.trainer)
    config = build_trl_config(
        config_cls,
        recipe,
        ctx,
        has_eval=evaluation is not None,
        defaults={
            **cpu_mixed_precision(model_width(model), recipe.train, ctx),
            **preference_defaults(recipe, tokenizer),
            **recipe.trl_args(),
        },
    )
    warn_truncation(train, tokenizer, config, ctx)
    callbacks: list[TrainerCallback] = [TailorCallback(ctx), *tracker_callbacks(recipe, ctx)]
    stopper = early_stopping_callback(recipe)
    if stopper is not None:
        callbacks.append(stopper)
    kwargs: dict[str, Any] = {}
    if recipe.trainer != "orpo":
        kwargs["ref_model"] = reference_model(recipe, ctx, model, peft_config)
    if source is not None and source.mode == "stack":
        callbacks.append(drop_reference_adapter())
    ctx.log(describe(recipe, source))
    trainer = trainer_cls(
        model=model,
        args=config,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
        **kwargs,
    )
    if len(trainer.train_dataset) == 0:
        raise DataError(
            f"{ctx.run.recipe_file}: every training example's prompt is longer than train.max_length "
            f"({config.max_length}); raise max_length or shorten the prompts"
        )
    if train_and_save(trainer, recipe, ctx):
        write_lineage(ctx, source, recipe)
        if recipe.evaluate:
            from tailor.engine.eval.run import evaluate_after_training  # the optional `evaluate:` block

            evaluate_after_training(recipe, ctx, trainer.model, trainer.processing_class)


def trl_classes(trainer: str) -> tuple[type, type]:
    """(config class, trainer class) for ``trainer``: ORPO lives in trl.experimental in TRL 1.x."""
    if trainer == "kto":
        from trl import KTOConfig, KTOTrainer

        return KTOConfig, KTOTrainer
    if trainer == "orpo":
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        return ORPOConfig, ORPOTrainer
    from trl import DPOConfig, DPOTrainer

    return DPOConfig, DPOTrainer


def preference_defaults(recipe: DPORecipe, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """Defaults for this machine and model (the recipe's ``train:`` still wins)."""
    out: dict[str, Any] = {}
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1024:
        out["max_length"] = limit  # TRL's default 1024 would overrun a small model's context
    if recipe.trainer == "orpo":
        out["remove_unused_columns"] = False  # ORPO's collator reads its own columns (TRL warns otherwise)
    return out


def reference_model(
    recipe: DPORecipe, ctx: WorkerContext, model: torch.nn.Module, peft_config: PeftConfig | None
) -> torch.nn.Module | None:
    """The reference policy to hand to TRL, or None when TRL needs none in memory.

    PEFT (a new adapter, or a stacked one): None — the adapter is switched off (or a frozen copy of the
    stacked adapter is used). ``full``/``partial``: ``ref_model`` when given, else a frozen copy of the
    starting weights — made here rather than reloaded by TRL, because the starting weights may be a merged
    chain that exists only in memory. With ``precompute_ref_log_probs`` TRL scores the data with the
    starting weights before the first step and keeps no copy.
    """
    if recipe.ref_model is not None:
        from tailor.engine.models.loading import load_model

        ctx.log(f"reference model: {recipe.ref_model.name_or_path}")
        ref = load_model(recipe.ref_model)
    elif peft_config is not None or _is_peft(model) or recipe.precompute_ref_log_probs:
        return None
    else:
        ctx.log("reference model: a frozen copy of the starting weights")
        ref = copy.deepcopy(model)
    ref.requires_grad_(False)
    return ref.eval()


def _is_peft(model: torch.nn.Module) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def check_kto_labels(train: datasets.Dataset, ctx: WorkerContext) -> None:
    """KTO learns from both kinds of feedback: say so when one kind is missing (it still trains)."""
    labels = train["label"]
    good = sum(bool(x) for x in labels)
    if good == 0 or good == len(labels):
        kind = "desirable (true)" if good else "undesirable (false)"
        ctx.log(f"every KTO label is {kind}: the model learns only from one side of the feedback", "warning")


def describe(recipe: DPORecipe, source: Source | None) -> str:
    """One log line saying what trains against what."""
    if recipe.trainer == "orpo":
        what = f"ORPO (λ={recipe.beta}, no reference model)"
    else:
        losses = recipe.losses
        if recipe.loss_weights:
            losses = [f"{w}×{name}" for name, w in zip(losses, recipe.loss_weights, strict=True)]
        what = f"{recipe.trainer.upper()} loss {' + '.join(losses)}, beta {recipe.beta}"
        if recipe.precompute_ref_log_probs:
            what += ", reference log-probs precomputed"
    origin = f" from run {source.run.run_id} ({source.mode})" if source is not None else ""
    return f"{what}, method {recipe.method}{origin}"


def drop_reference_adapter() -> TrainerCallback:
    """Stacked runs: TRL adds a frozen "ref" copy of the adapter as the reference; drop it when training
    ends so ``adapter/`` holds just the trained adapter."""
    from transformers import TrainerCallback

    class DropReference(TrainerCallback):
        def on_train_end(
            self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
            model: PeftModel | None = None, **kw: object,
        ) -> None:
            peft_config = getattr(model, "peft_config", None)
            if model is not None and peft_config and "ref" in peft_config:
                model.delete_adapter("ref")

    return DropReference()
