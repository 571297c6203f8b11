"""``kind: sft``: supervised fine-tuning with TRL's SFTTrainer, inside a worker.

Data arrives in TRL's standard formats (language modelling ``text``, prompt-completion, conversational
``messages``); TRL applies the chat template, and trains on completions only for prompt-completion data.
For ``messages`` data Tailor turns on ``assistant_only_loss`` when the chat template can mark the
assistant's tokens (the recipe can set it either way). Batches are padding-free when the model passes
the check in engine/train/padding_free.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tailor.engine.train import padding_free
from tailor.engine.train.loop import quiet_libraries, train_and_save

if TYPE_CHECKING:
    import datasets
    from transformers import PreTrainedTokenizerBase, TrainerCallback, TrainingArguments

    from tailor.engine.recipes.sft import SFTRecipe
    from tailor.engine.worker.context import WorkerContext


def run_sft(recipe: SFTRecipe, ctx: WorkerContext) -> None:
    quiet_libraries()
    from trl import SFTConfig, SFTTrainer

    from tailor.engine.data.prepare import load_training_data
    from tailor.engine.train.callback import TailorCallback
    from tailor.engine.train.config import build_trl_config, early_stopping_callback, tracker_callbacks
    from tailor.engine.train.methods import load_tokenizer_for, setup_model

    tokenizer, path = load_tokenizer_for(recipe, ctx)  # first: the data check needs its chat template
    train, evaluation = load_training_data(
        recipe.data, task="sft", seed=recipe.seed, tokenizer=tokenizer, model=recipe.model.name_or_path, log=ctx.log
    )
    ctx.log(f"data: {len(train)} train rows" + (f", {len(evaluation)} eval rows" if evaluation is not None else ""))
    config = build_trl_config(
        SFTConfig,
        recipe,
        ctx,
        has_eval=evaluation is not None,
        defaults=sft_defaults(recipe, tokenizer, train.column_names, ctx),
    )
    if padding_free.forced(recipe):
        config.padding_free = False  # TRL refuses it with max_length; switched on below, after the check
    warn_truncation(train, tokenizer, config, ctx)
    loaded = setup_model(recipe, ctx, tokenizer, path)
    callbacks: list[TrainerCallback] = [TailorCallback(ctx), *tracker_callbacks(recipe, ctx)]
    stopper = early_stopping_callback(recipe)
    if stopper is not None:
        callbacks.append(stopper)
    trainer = SFTTrainer(
        model=loaded.model,
        args=config,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=loaded.tokenizer,
        peft_config=loaded.peft_config,
        callbacks=callbacks,
    )
    padding_free.enable(trainer, recipe, ctx)
    if train_and_save(trainer, recipe, ctx) and recipe.evaluate:
        # the optional `evaluate:` block (docs/evaluation.md)
        from tailor.engine.eval.run import evaluate_after_training

        evaluate_after_training(recipe, ctx, trainer.model, trainer.processing_class)


def warn_truncation(
    train: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, config: TrainingArguments, ctx: WorkerContext
) -> None:
    """Warn at launch when max_length cuts a large share of the rows (engine.data.render)."""
    from tailor.engine.data.render import truncation_warning

    try:
        text = truncation_warning(train, tokenizer, getattr(config, "max_length", None))
    except Exception as exc:  # advisory only: a row the preview cannot render fails in TRL with its own error
        ctx.log(f"could not measure row lengths: {exc}")
        return
    if text:
        ctx.log(text, "warning")


def sft_defaults(recipe: SFTRecipe, tokenizer: PreTrainedTokenizerBase, columns: list[str], ctx: WorkerContext) -> dict[str, Any]:
    """SFT-specific defaults (the recipe's ``train:`` still wins)."""
    out: dict[str, Any] = {}
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1024:
        out["max_length"] = limit  # TRL's default 1024 would overrun a small model's context
    if "messages" in columns and "assistant_only_loss" not in recipe.train:
        if can_mask_assistant(tokenizer):
            out["assistant_only_loss"] = True
            ctx.log("conversational data: loss on the assistant's tokens only (assistant_only_loss)")
        else:
            ctx.log(
                "conversational data: the chat template cannot mark assistant tokens, so the loss covers the whole "
                "conversation (add {% generation %} markers to model.chat_template for assistant-only loss)",
                "warning",
            )
    return out


def can_mask_assistant(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether TRL can compute an assistant-only loss with this tokenizer's chat template."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return False
    if has_generation_markers(template):
        return True
    try:
        return get_training_chat_template(tokenizer) is not None
    except Exception:  # an unknown template: TRL cannot patch it
        return False
