"""``kind: grpo``: reinforcement learning with verifiable rewards inside a worker — TRL's GRPOTrainer.

For each prompt the policy samples ``num_generations`` completions; the rewards score them; each
completion's advantage is its reward relative to its group's, and the policy moves towards the better
ones (with a KL pull of strength ``beta`` towards the starting model). With a PEFT method the starting
model is the base with the adapter switched off, so no second model is kept in memory.

Reported through the shared TailorCallback as ``metric`` events: ``reward`` / ``reward_std``,
``rewards/<name>/mean`` and ``/std`` per reward, ``kl``, ``completions/mean_length``,
``completions/clipped_ratio``, ``entropy``... Every ``samples.every`` steps a ``samples`` event holds a few
prompts with their completions, rewards and advantages (the "what is it learning" view).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from tailor.engine.errors import DataError
from tailor.engine.train.loop import quiet_libraries, train_and_save

if TYPE_CHECKING:
    from transformers import Trainer, TrainerControl, TrainerState, TrainingArguments

    from tailor.engine.recipes.grpo import GRPORecipe
    from tailor.engine.worker.context import WorkerContext

SAMPLE_CHARS = 400  # per prompt / completion in a samples event: enough to read, small enough for events.jsonl


def run_grpo(recipe: GRPORecipe, ctx: WorkerContext) -> None:
    quiet_libraries()
    os.environ.setdefault("TQDM_DISABLE", "1")
    from trl import GRPOConfig, GRPOTrainer

    from tailor.engine.train.callback import TailorCallback
    from tailor.engine.train.chain import model_for, resolve_source, write_lineage
    from tailor.engine.train.config import build_trl_config, early_stopping_callback
    from tailor.engine.train.dpo import drop_reference_adapter
    from tailor.engine.train.grpo_data import load_prompt_data
    from tailor.engine.train.rewards import build_rewards, probe

    source = resolve_source(recipe, ctx) if recipe.from_run else None  # a missing parent fails first: cheap
    train, evaluation = load_prompt_data(recipe)
    ctx.log(f"data: {len(train)} prompts" + (f", {len(evaluation)} eval prompts" if evaluation is not None else ""))
    rewards = build_rewards(recipe, ctx)
    probe(recipe, rewards, [train[i] for i in range(min(2, len(train)))])  # before the model loads
    model, tokenizer, peft_config = model_for(recipe, ctx, source)
    config = build_trl_config(GRPOConfig, recipe, ctx, has_eval=evaluation is not None,
                              defaults={"logging_steps": 5, **recipe.trl_args()})
    samples = SamplesCallback(ctx, recipe.samples.every, recipe.samples.count)
    callbacks: list[TrainerCallback] = [TailorCallback(ctx), samples]
    stopper = early_stopping_callback(recipe)
    if stopper is not None:
        callbacks.append(stopper)
    if source is not None and source.mode == "stack":
        callbacks.append(drop_reference_adapter())
    weights = " + ".join(f"{r.weight:g}×{r.display}" for r in recipe.rewards)
    origin = f" from run {source.run.run_id} ({source.mode})" if source is not None else ""
    ctx.log(f"GRPO: reward {weights}; {recipe.num_generations} completions per prompt, beta {recipe.beta}, "
            f"method {recipe.method}{origin}")
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=list[Any](rewards),
        args=config,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    if len(train) == 0:
        raise DataError(f"{ctx.run.recipe_file}: no prompts left to train on")
    samples.trainer = trainer
    if train_and_save(trainer, recipe, ctx):
        write_lineage(ctx, source, recipe)
        if recipe.evaluate:
            from tailor.engine.eval.run import evaluate_after_training

            evaluate_after_training(recipe, ctx, trainer.model, trainer.processing_class)


def _prompt_text(prompt: object) -> str:
    if isinstance(prompt, list):  # chat turns: the user's last message is what was asked
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return str((users or prompt)[-1].get("content", ""))
    return str(prompt)


def sample_rows(logs: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The first ``count`` prompts' completions from GRPOTrainer's completion log (its latest batch).

    One row per completion of the first prompts (their whole group), so the rewards can be compared
    within a group, as GRPO does.
    """
    from tailor.engine.train.rewards import completion_text

    prompts, completions = list(logs.get("prompt", ())), list(logs.get("completion", ()))
    rewards = {name: list(values) for name, values in logs.get("rewards", {}).items()}
    advantages = list(logs.get("advantages", ()))
    rows: list[dict[str, Any]] = []
    seen: list[str] = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=False)):
        text = _prompt_text(prompt)
        if text not in seen:
            if len(seen) >= count:
                break
            seen.append(text)
        row: dict[str, Any] = {
            "prompt": text[:SAMPLE_CHARS],
            "completion": completion_text(completion)[:SAMPLE_CHARS],
            "rewards": {name: _num(values[i]) for name, values in rewards.items() if i < len(values)},
        }
        if i < len(advantages):
            row["advantage"] = _num(advantages[i])
        rows.append(row)
    return rows


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 4) if number == number else None  # NaN (no reward) -> None


class SamplesCallback(TrainerCallback):
    """Writes a ``samples`` event every ``every`` steps from the trainer's latest completions."""

    def __init__(self, ctx: WorkerContext, every: int, count: int) -> None:
        self.ctx, self.every, self.count = ctx, every, count
        self.trainer: Trainer | None = None  # a GRPOTrainer, set once built

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: object) -> None:
        step = state.global_step
        if not self.every or self.trainer is None or step % self.every or not getattr(self.ctx, "primary", True):
            return
        rows = sample_rows(getattr(self.trainer, "_logs", {}), self.count)
        if rows:
            self.ctx.emit("samples", step=step, rows=rows)
