"""``kind: sft`` — supervised fine-tuning through TRL's SFTTrainer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from tailor.engine.recipes.trainable import TrainableRecipe


class SFTRecipe(TrainableRecipe):
    kind: Literal["sft"] = "sft"
    train_on: Literal["assistant", "all"] = Field(
        "assistant",
        description="assistant: the loss covers only the assistant's turns (or the completion), each with its "
        "end-of-turn marker, for any chat template; all: every token of the conversation, on purpose.",
    )
    prompt_completion: Literal["chat", "raw"] = Field(
        "chat",
        description="Plain prompt/completion strings: chat renders them as one user and one assistant turn "
        "through the model's chat template (when it has one); raw concatenates them, as for a base model.",
    )

    @field_validator("train")
    @classmethod
    def _loss_switches(cls, v: dict[str, Any]) -> dict[str, Any]:
        # Tailor builds the loss masks itself (engine/data/render.py); TRL's switches would fight them
        for key in ("assistant_only_loss", "completion_only_loss"):
            if key in v:
                raise ValueError(
                    f"train.{key}: Tailor decides the loss with train_on (assistant: only the assistant's turns "
                    "or the completion, the default; all: every token); remove it and set train_on instead"
                )
        return v
