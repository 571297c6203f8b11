"""``kind: search`` — an Optuna study over a wrapped sft/dpo recipe. Fleshed out by the search issue."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.recipes.common import Strict


class SearchRecipe(Strict):
    kind: Literal["search"] = "search"
    name: str | None = None
    description: str | None = None
    base: dict[str, Any] | str = Field(description="The sft/dpo recipe to tune: a path or an inline mapping.")
    space: dict[str, Any] = Field(default_factory=dict)
    n_trials: int | None = Field(None, gt=0)
