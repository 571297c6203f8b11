"""The base of every recipe that trains weights (``sft``, ``dpo``, ``grpo``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tailor.engine import kinds
from tailor.engine.recipes.common import (
    DataSpec,
    EarlyStoppingSpec,
    LoraSpec,
    ModelSpec,
    PartialSpec,
    PromptSpec,
    QuantizationSpec,
    Recipe,
    ResourcesSpec,
    check_train_block,
)
from tailor.engine.recipes.eval import check_evaluate_block  # the schema lives with the eval kind

Method = Literal["lora", "qlora", "full", "partial", "prompt_tuning", "prefix_tuning"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class TrainableRecipe(Recipe):
    name: str | None = Field(None, description="Run-name prefix: letters, digits, '.', '_' and '-'.")
    description: str | None = None
    seed: int = 42
    model: ModelSpec = Field(default_factory=ModelSpec)
    method: Method = "lora"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    quantization: QuantizationSpec = Field(default_factory=QuantizationSpec)
    partial: PartialSpec = Field(default_factory=PartialSpec)
    prompt: PromptSpec = Field(default_factory=PromptSpec)
    data: DataSpec
    train: dict[str, Any] = Field(default_factory=dict, description="Any field of the TRL config class.")
    early_stopping: EarlyStoppingSpec | None = None
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    evaluate: dict[str, Any] | None = Field(
        None, description="Optional evaluation at the end of training (same fields as an eval recipe's)."
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str | None) -> str | None:
        if v is not None and not NAME_RE.match(v):
            raise ValueError("use letters, digits, '.', '_' and '-' only (at most 64), starting with a letter or digit")
        return v

    @field_validator("train")
    @classmethod
    def _train_fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_train_block(v, cls.kind_trl_config())

    @field_validator("evaluate")
    @classmethod
    def _evaluate_block(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_evaluate_block(v)

    @classmethod
    def kind_trl_config(cls) -> str:
        """The TRL config class of this model's kind: its registry entry says it (engine/kinds.py)."""
        kind = cls.model_fields["kind"].default
        config = kinds.get(kind).trl_config if kinds.known(kind) else None
        if config is None:
            raise ValueError(f"kind {kind!r} names no trl_config in its registry entry (engine/kinds.py); add one")
        return config

    @property
    def trl_config_class(self) -> str:
        """The TRL config class its ``train:`` block takes (a kind may choose per recipe: DPO's trainer)."""
        return self.kind_trl_config()

    @model_validator(mode="after")
    def _early_stopping_needs_eval(self) -> TrainableRecipe:
        if self.early_stopping and not (self.data.eval or self.data.eval_split):
            raise ValueError("early_stopping needs an eval set: set data.eval or data.eval_split")
        return self

    @property
    def uses_peft(self) -> bool:
        return self.method in ("lora", "qlora", "prompt_tuning", "prefix_tuning")
