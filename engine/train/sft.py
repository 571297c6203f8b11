"""``kind: sft``: supervised fine-tuning with TRL's SFTTrainer, inside a worker.

Data arrives in TRL's standard formats (language modelling ``text``, prompt-completion, conversational
``messages``) and reaches TRL pre-tokenized: ``input_ids`` and ``assistant_masks`` built by
engine/data/render.py, the same function behind ``tailor data show`` and ``data check``. With ``train_on:
assistant`` (the default) the loss covers the assistant's turns (or the completion) for any chat template;
a template that cannot be split turn by turn is refused before training. Batches are padding-free when
the model passes the check in engine/train/padding_free.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tailor.engine.train import padding_free
from tailor.engine.train.loop import quiet_libraries, train_and_save

if TYPE_CHECKING:
    import datasets
    from transformers import PreTrainedTokenizerBase, TrainerCallback, TrainingArguments

    from tailor.engine.data.render import LossPlan
    from tailor.engine.recipes.sft import SFTRecipe
    from tailor.engine.worker.context import WorkerContext


def run_sft(recipe: SFTRecipe, ctx: WorkerContext) -> None:
    quiet_libraries()
    from trl import SFTConfig, SFTTrainer

    from tailor.engine.data.prepare import load_training_data
    from tailor.engine.data.render import recipe_plan
    from tailor.engine.train.callback import TailorCallback
    from tailor.engine.train.config import (
        build_trl_config,
        cpu_mixed_precision,
        early_stopping_callback,
        model_width,
        tracker_callbacks,
    )
    from tailor.engine.train.methods import load_tokenizer_for, setup_model

    tokenizer, path = load_tokenizer_for(recipe, ctx)  # first: the data check needs its chat template
    plan = recipe_plan(recipe, tokenizer)
    log_loss(recipe, tokenizer, plan, ctx)
    train, evaluation = load_training_data(
        recipe.data,
        task="sft",
        seed=recipe.seed,
        tokenizer=tokenizer,
        model=recipe.model.name_or_path,
        log=ctx.log,
        plan=plan,
    )
    ctx.log(f"data: {len(train)} train rows" + (f", {len(evaluation)} eval rows" if evaluation is not None else ""))
    config = build_trl_config(
        SFTConfig,
        recipe,
        ctx,
        has_eval=evaluation is not None,
        defaults={
            **cpu_mixed_precision(model_width(path), recipe.train, ctx),
            **({"max_length": plan.max_length} if "max_length" not in recipe.train else {}),
        },
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


def log_loss(recipe: SFTRecipe, tokenizer: PreTrainedTokenizerBase, plan: LossPlan, ctx: WorkerContext) -> None:
    """The run's first events say which tokens the loss covers and where sequences are cut."""
    from tailor.engine.data.render import LOSS_TEXT

    ctx.log(LOSS_TEXT[plan.train_on] + f"; max_length {plan.max_length}")
    if recipe.prompt_completion == "raw" or not getattr(tokenizer, "chat_template", None):
        ctx.log("plain prompt/completion rows (if any) are concatenated without a chat template")
