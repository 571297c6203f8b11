"""``kind: dpo`` — preference alignment: DPO (and its loss variants), KTO and ORPO through TRL.

Schema (everything else is shared with ``kind: sft``)::

    kind: dpo
    trainer: dpo              # dpo | kto | orpo
    beta: 0.1                 # DPO/KTO: strength of the pull towards the reference; ORPO: the λ weight
    loss_type: sigmoid        # dpo: one loss or a list combined with loss_weights; kto: kto | apo_zero_unpaired
    loss_weights: [1.0, 0.2]  # dpo only, one weight per loss_type
    label_smoothing: 0.0      # dpo only: robust / exo_pair / aot
    precompute_ref_log_probs: false   # dpo/kto: score the data with the reference once, before training
    ref_model: null           # dpo/kto: an explicit reference model; default is the starting policy
    from_run: RUN             # start from a finished sft/dpo run's adapter (run id, unique prefix or run folder)
    from_run_mode: merge      # merge: fold that adapter into the base, then train a new one; stack: keep training it
    train: {...}              # any field of DPOConfig / KTOConfig / ORPOConfig, per ``trainer``

The ``train:`` block is checked against the config class of the chosen trainer; the fields above live at the
top level only (one place to set them, so a search can tune them as ``beta``, ``loss_type``...).
"""

from __future__ import annotations

import contextvars
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tailor.engine.recipes.common import FieldError, ModelSpec, check_train_block, run_reference
from tailor.engine.recipes.trainable import TrainableRecipe
from tailor.engine.recipes.trl_fields import fields as trl_fields

Trainer = Literal["dpo", "kto", "orpo"]

#: The TRL config class of the trainers other than the kind's own (``dpo``: the registry's ``trl_config``).
OTHER_CONFIG_CLASSES: dict[str, str] = {"kto": "KTOConfig", "orpo": "ORPOConfig"}

# The losses DPOTrainer implements (trl 1.16, DPOConfig.loss_type); KTOTrainer's (KTOConfig.loss_type).
DPO_LOSSES = (
    "sigmoid",
    "hinge",
    "ipo",
    "exo_pair",
    "nca_pair",
    "robust",
    "bco_pair",
    "sppo_hard",
    "aot",
    "aot_unpaired",
    "apo_zero",
    "apo_down",
    "discopop",
    "sft",
    "sigmoid_norm",
)
KTO_LOSSES = ("kto", "apo_zero_unpaired")
DEFAULT_LOSS = {"dpo": "sigmoid", "kto": "kto", "orpo": None}

# Top-level fields that are also TRL config fields: set them at the top level, never in train:.
TOP_LEVEL = ("beta", "loss_type", "loss_weights", "label_smoothing", "precompute_ref_log_probs")

# Which trainer each top-level option applies to (value != default is an error elsewhere).
_APPLIES = {
    "loss_weights": ("dpo",),
    "label_smoothing": ("dpo",),
    "precompute_ref_log_probs": ("dpo", "kto"),
    "ref_model": ("dpo", "kto"),
}

# The raw recipe being validated, read by the train: validator: pydantic validates ``train`` before ``trainer``
# (``train`` is declared in the base class), so the values it depends on are handed over here.
_RAW: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("tailor_dpo_raw", default=None)


class DPORecipe(TrainableRecipe):
    kind: Literal["dpo"] = "dpo"
    trainer: Trainer = Field(
        "dpo", description="dpo (paired), kto (unpaired, labelled) or orpo (paired, no reference)."
    )
    beta: float = Field(
        0.1, gt=0, description="DPO/KTO: deviation from the reference (IPO: τ). ORPO: the λ weight."
    )
    loss_type: str | list[str] | None = Field(
        None,
        description="dpo: a loss or a list of losses (combined with loss_weights); kto: kto | apo_zero_unpaired.",
    )
    loss_weights: list[float] | None = Field(None, description="dpo: one weight per loss_type entry.")
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="dpo: label-flip probability (robust, exo_pair, aot)."
    )
    precompute_ref_log_probs: bool = Field(
        False, description="Score the data with the reference once before training, then drop the reference."
    )
    ref_model: ModelSpec | None = Field(
        None, description="Explicit reference model (dpo/kto). Default: a frozen copy of the starting policy."
    )
    from_run: str | None = Field(
        None, description="Start from this finished sft/dpo run (id, unique prefix or folder)."
    )
    from_run_mode: Literal["merge", "stack"] = Field(
        "merge",
        description="merge: fold the run's adapter into the base and train a new one; stack: keep training that adapter.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _note_trainer(cls, data: Any, handler: Any) -> Any:
        token = _RAW.set(data if isinstance(data, dict) else {})
        try:
            return handler(data)
        finally:
            _RAW.reset(token)

    @field_validator("train")
    @classmethod
    def _train_fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        raw = _RAW.get() or {}
        config_classes = cls.config_classes()
        trainer = raw.get("trainer", "dpo")
        if trainer not in config_classes:
            trainer = "dpo"  # a bad trainer is reported on its own field
        for key in v:
            if key in TOP_LEVEL:
                raise FieldError(key, f"set it as the top-level `{key}:` of the recipe, not under train:")
        known = trl_fields(config_classes[trainer])
        for key in v:
            other = [t for t, c in config_classes.items() if t != trainer and key in trl_fields(c)]
            if key not in known and other:
                raise FieldError(key, f"is a {config_classes[other[0]]} field; it needs trainer: {other[0]}")
        check_train_block(v, config_classes[trainer])
        if trainer == "kto" and raw.get("loss_type") in (None, "kto", ["kto"]):
            # KTO estimates its KL term from the other completions of the same batch (TRL's requirements).
            batch = v.get("per_device_train_batch_size", 8)
            if isinstance(batch, int) and batch < 2:
                raise FieldError("per_device_train_batch_size", "the kto loss needs a batch of 2 or more")
            if v.get("train_sampling_strategy", "sequential") != "sequential":
                raise FieldError("train_sampling_strategy", "the kto loss needs 'sequential' (the default)")
        method = raw.get("method", "lora")
        if v.get("sync_ref_model") and method not in ("full", "partial"):
            raise FieldError(
                "sync_ref_model", f"not supported with method {method} (no separate reference to sync)"
            )
        return v

    @field_validator("loss_type")
    @classmethod
    def _loss_list(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and not v:
            raise ValueError("give at least one loss, or leave loss_type out for the trainer's default")
        return v

    @field_validator("from_run")
    @classmethod
    def _from_run_text(cls, v: str | None) -> str | None:
        return run_reference(v)

    @model_validator(mode="after")
    def _consistent(self) -> DPORecipe:
        trainer = self.trainer
        defaults = {
            "loss_weights": None,
            "label_smoothing": 0.0,
            "precompute_ref_log_probs": False,
            "ref_model": None,
        }
        for key, allowed in _APPLIES.items():
            if trainer not in allowed and getattr(self, key) != defaults[key]:
                raise FieldError(
                    key, f"applies to trainer {' / '.join(allowed)} only, not {trainer}; remove it"
                )
        losses = self.losses
        if trainer == "dpo":
            for name in losses:
                if name not in DPO_LOSSES:
                    raise FieldError(
                        "loss_type", f"unknown DPO loss {name!r}; use one of {', '.join(DPO_LOSSES)}"
                    )
            if len(set(losses)) != len(losses):
                raise FieldError("loss_type", "a loss is listed twice; give each loss once with its weight")
            if self.loss_weights is not None and len(self.loss_weights) != len(losses):
                raise FieldError(
                    "loss_weights",
                    f"has {len(self.loss_weights)} weights for {len(losses)} loss_type entries; give one each",
                )
            if "robust" in losses and self.label_smoothing >= 0.5:
                raise FieldError(
                    "label_smoothing", "the robust loss needs a flip probability below 0.5 (0.1 is typical)"
                )
            if "exo_pair" in losses and self.label_smoothing == 0:
                raise FieldError(
                    "label_smoothing", "the exo_pair loss needs label_smoothing > 0 (1e-3 is typical)"
                )
        elif trainer == "kto":
            if isinstance(self.loss_type, list) and len(self.loss_type) > 1:
                raise FieldError("loss_type", "KTO takes a single loss: kto or apo_zero_unpaired")
            if losses[0] not in KTO_LOSSES:
                raise FieldError(
                    "loss_type", f"unknown KTO loss {losses[0]!r}; use one of {', '.join(KTO_LOSSES)}"
                )
        elif self.loss_type is not None:
            raise FieldError(
                "loss_type", "ORPO has a single built-in loss; remove loss_type (beta sets its λ)"
            )
        if self.from_run and self.from_run_mode == "stack" and not self.uses_peft:
            raise FieldError(
                "from_run_mode",
                f"stack keeps training the run's adapter, which needs a PEFT method, not {self.method}; "
                "use from_run_mode: merge",
            )
        return self

    @property
    def losses(self) -> list[str]:
        """The loss names as a list (the trainer's default when none is set; empty for ORPO)."""
        if self.loss_type is None:
            default = DEFAULT_LOSS[self.trainer]
            return [default] if default else []
        return [self.loss_type] if isinstance(self.loss_type, str) else list(self.loss_type)

    @classmethod
    def config_classes(cls) -> dict[str, str]:
        """The TRL config class of each trainer: the kind's own (engine/kinds.py) for ``dpo``."""
        return {"dpo": cls.kind_trl_config(), **OTHER_CONFIG_CLASSES}

    @property
    def trl_config_class(self) -> str:
        return self.config_classes()[self.trainer]

    @property
    def data_task(self) -> Literal["preference", "unpaired_preference"]:
        """The data shape the trainer needs: paired preferences, or unpaired labelled completions for KTO."""
        return "unpaired_preference" if self.trainer == "kto" else "preference"

    def trl_args(self) -> dict[str, Any]:
        """The trainer-specific TRL config fields set at the top level, merged over ``train:`` by the worker."""
        out: dict[str, Any] = {"beta": self.beta}
        if self.trainer == "dpo":
            out.update(
                loss_type=self.losses,
                label_smoothing=self.label_smoothing,
                precompute_ref_log_probs=self.precompute_ref_log_probs,
            )
            if self.loss_weights is not None:
                out["loss_weights"] = list(self.loss_weights)
        elif self.trainer == "kto":
            out.update(loss_type=self.losses[0], precompute_ref_log_probs=self.precompute_ref_log_probs)
        return out
