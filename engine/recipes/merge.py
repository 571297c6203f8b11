"""``kind: merge`` — combine LoRA adapters of finished runs into one adapter with PEFT's
``add_weighted_adapter``. The result is an ordinary run directory (``adapter/``): evaluable in Evals,
usable as ``from_run``, exportable.

Schema::

    kind: merge
    name: reverse-and-upper
    model: Qwen/Qwen2.5-0.5B       # the base every adapter was trained on (`tailor merge` fills it in)
    adapters:                      # finished sft/dpo/merge runs (id, unique prefix or folder), 2 or more
      - run: reverse-...           # or just the run id
        weight: 1.0
      - run: upper-...
        weight: 1.0
    combination_type: ties         # linear | cat | svd | ties | ties_svd | dare_linear | dare_ties | magnitude_prune ...
    density: 0.5                   # ties / dare_* / magnitude_prune: the fraction of weights kept
    majority_sign_method: total    # ties / dare_ties: total | frequency
    svd_rank: null                 # svd variants: the merged rank (default: the largest source rank)

Adapters with different bases, chains or ``modules_to_save`` are refused with the reason.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from tailor.engine.recipes.common import ModelSpec, Recipe, Strict

#: PEFT's LoraModel.add_weighted_adapter combination types (peft 0.13+).
COMBINATIONS = (
    "linear", "cat", "svd", "ties", "ties_svd", "dare_linear", "dare_ties", "dare_linear_svd", "dare_ties_svd",
    "magnitude_prune", "magnitude_prune_svd",
)
NEEDS_DENSITY = ("ties", "ties_svd", "dare_linear", "dare_ties", "dare_linear_svd", "dare_ties_svd",
                 "magnitude_prune", "magnitude_prune_svd")


class MergeSource(Strict):
    run: str = Field(description="A finished sft, dpo or merge run: id, unique prefix or run folder.")
    weight: float = 1.0

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"run": value} if isinstance(value, str) else value


class MergeRecipe(Recipe):
    kind: Literal["merge"] = "merge"
    name: str | None = None
    description: str | None = None
    seed: int = 42
    model: ModelSpec = Field(default_factory=ModelSpec, description="The base model every adapter was trained on.")
    adapters: list[MergeSource] = Field(min_length=2, description="The runs whose adapters are combined.")
    combination_type: Literal[
        "linear", "cat", "svd", "ties", "ties_svd", "dare_linear", "dare_ties", "dare_linear_svd", "dare_ties_svd",
        "magnitude_prune", "magnitude_prune_svd",
    ] = "ties"
    density: float | None = Field(None, gt=0, le=1, description="ties / dare / magnitude_prune: fraction of weights kept.")
    majority_sign_method: Literal["total", "frequency"] = "total"
    svd_rank: int | None = Field(None, gt=0)

    @field_validator("adapters", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str | dict) else v

    @model_validator(mode="after")
    def _density(self) -> MergeRecipe:
        if self.combination_type in NEEDS_DENSITY and self.density is None:
            self.density = 0.5 if self.combination_type.startswith(("ties", "magnitude")) else 0.7
        if self.combination_type not in NEEDS_DENSITY and self.density is not None:
            raise ValueError(f"density applies to {', '.join(NEEDS_DENSITY[:5])}...; not to {self.combination_type}")
        return self

    # What chaining, evaluation and export read of a model-producing run's recipe.
    method: ClassVar[str] = "lora"
    uses_peft: ClassVar[bool] = True
