"""``kind: eval`` — base model versus fine-tuned runs on a held-out set. Fleshed out by the eval issue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.recipes.common import DataSource, ModelSpec, Strict


class EvalRecipe(Strict):
    kind: Literal["eval"] = "eval"
    name: str | None = None
    description: str | None = None
    model: ModelSpec = Field(default_factory=ModelSpec)
    data: list[DataSource] = Field(min_length=1)
    runs: list[str] = Field(default_factory=list)
