"""``kind: dpo`` — preference alignment (DPO and its loss variants, KTO, ORPO). Fleshed out by the DPO issue."""

from __future__ import annotations

from typing import ClassVar, Literal

from engine.recipes.trainable import TrainableRecipe


class DPORecipe(TrainableRecipe):
    kind: Literal["dpo"] = "dpo"

    config_class: ClassVar[str] = "DPOConfig"
