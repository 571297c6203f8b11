"""``kind: sft`` — supervised fine-tuning through TRL's SFTTrainer."""

from __future__ import annotations

from typing import Literal

from tailor.engine.recipes.trainable import TrainableRecipe


class SFTRecipe(TrainableRecipe):
    kind: Literal["sft"] = "sft"
