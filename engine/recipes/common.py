"""Pieces shared by every recipe kind: model, tuning method, data sources, the TRL ``train:`` block."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tailor.engine.errors import RecipeError
from tailor.engine.recipes.trackers import normalise
from tailor.engine.recipes.trl_fields import fields as trl_fields

# Names users bring from other tools, mapped to ours, for did-you-mean hints.
SYNONYMS = {
    "rank": "r",
    "lora_r": "r",
    "lora_rank": "r",
    "alpha": "lora_alpha",
    "dropout": "lora_dropout",
    "lr": "learning_rate",
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "max_seq_length": "max_length",
    "max_seq_len": "max_length",
    "cutoff_len": "max_length",
    "steps": "max_steps",
}


def suggest(key: str, options: list[str]) -> str | None:
    """The option closest to ``key``, knowing common synonyms from other tools."""
    if SYNONYMS.get(key) in options:
        return SYNONYMS[key]
    hint = difflib.get_close_matches(key, options, n=1)
    return hint[0] if hint else None


class Strict(BaseModel):
    """Unknown keys are errors (with a did-you-mean), so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Recipe(Strict):
    """The base of every kind's recipe model. ``kind`` names its entry in the registry (engine/kinds.py),
    which says which model validates it: loading dispatches through the registry, and code that takes any
    recipe takes this type."""

    kind: str
    name: str | None = None


class ModelSpec(Strict):
    """The base model: ``tailor/tiny`` (built in, offline), a local folder, a GGUF file, or a Hugging Face hub id."""

    name_or_path: str = "tailor/tiny"
    gguf_file: str | None = Field(
        None, description="A GGUF file inside the name_or_path folder (or point name_or_path at the file itself)."
    )
    revision: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    chat_template: str | None = Field(None, description="A Jinja chat template (string) to use instead of the model's.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name_or_path": value} if isinstance(value, str) else value


class LoraSpec(Strict):
    """PEFT ``LoraConfig`` fields, under PEFT's own names."""

    r: int = Field(16, gt=0)
    lora_alpha: float = Field(32, gt=0)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"
    use_rslora: bool = False
    use_dora: bool = False
    bias: Literal["none", "all", "lora_only"] = "none"
    modules_to_save: list[str] | None = None


class QuantizationSpec(Strict):
    """bitsandbytes 4-bit loading for QLoRA (needs CUDA)."""

    bnb_4bit_quant_type: Literal["nf4", "fp4"] = "nf4"
    bnb_4bit_compute_dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    bnb_4bit_use_double_quant: bool = True


class PartialSpec(Strict):
    """Partial fine-tuning: freeze everything but the top ``trainable_layers`` decoder layers (and the head)."""

    trainable_layers: int = Field(2, gt=0)
    train_embeddings: bool = False


class PromptSpec(Strict):
    """Prompt tuning / prefix tuning (PEFT ``PromptTuningConfig`` / ``PrefixTuningConfig``)."""

    num_virtual_tokens: int = Field(16, gt=0)
    prompt_tuning_init_text: str | None = None
    encoder_hidden_size: int | None = Field(None, gt=0, description="Prefix tuning: projection width.")


DataFormat = Literal[
    "auto",
    "alpaca",
    "sharegpt",
    "messages",
    "prompt_completion",
    "text",
    "preference",
    "unpaired_preference",
]


class DataSource(Strict):
    """One dataset: a file, glob, folder or hub id, with an optional weight for mixing."""

    path: str
    weight: float = Field(1.0, gt=0)
    format: DataFormat = "auto"
    columns: dict[str, str] = Field(default_factory=dict, description="Canonical name -> column in the source.")
    split: str | None = None
    subset: str | None = Field(None, description="Hub dataset configuration name.")
    max_rows: int | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


def _sources(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str | dict):
        return [value]
    return value


class DataSpec(Strict):
    train: list[DataSource] = Field(min_length=1)
    eval: list[DataSource] | None = None
    eval_split: float | int | None = Field(
        None, description="Split this fraction (0-1) or number of rows off train as the eval set."
    )
    seed: int = 42
    system_prompt: str | None = None
    on_invalid: Literal["error", "skip"] = Field(
        "error",
        description="error: refuse the data at the first bad row; skip: train on the valid rows and report "
        "how many were skipped and why.",
    )

    _train = field_validator("train", mode="before")(lambda cls, v: _sources(v))
    _eval = field_validator("eval", mode="before")(lambda cls, v: _sources(v))

    @field_validator("eval_split")
    @classmethod
    def _split_range(cls, v: float | int | None) -> float | int | None:
        if v is None:
            return v
        if isinstance(v, float) and not 0 < v < 1:
            raise ValueError("a fraction must be between 0 and 1 (exclusive)")
        if isinstance(v, int) and v <= 0:
            raise ValueError("a row count must be > 0")
        return v


class EarlyStoppingSpec(Strict):
    """Stop when eval loss has not improved by ``threshold`` for ``patience`` evaluations."""

    patience: int = Field(3, gt=0)
    threshold: float = Field(0.0, ge=0)


class ResourcesSpec(Strict):
    gpus: int = Field(1, ge=0, description="GPUs to use; >1 starts the worker under accelerate launch.")
    launcher: Literal["accelerate", "torchrun"] = "accelerate"
    # On a ``type: slurm`` host (docs/remote.md); they override the host's ``slurm:`` settings and are
    # ignored elsewhere. ``nodes`` > 1 runs one torchrun per node with a rendezvous on the first node.
    nodes: int | None = Field(None, gt=0, description="Slurm nodes; >1 trains on several nodes (torchrun).")
    gpus_per_node: int | None = Field(None, ge=0, description="GPUs per Slurm node (default: gpus).")
    partition: str | None = Field(None, description="Slurm partition.")
    account: str | None = Field(None, description="Slurm account.")
    qos: str | None = Field(None, description="Slurm QoS.")
    time: str | None = Field(None, description="Slurm time limit (MINUTES, HH:MM:SS, D-HH:MM).")
    cpus_per_task: int | None = Field(None, gt=0, description="Slurm CPUs per node's task.")
    mem: str | None = Field(None, description="Slurm memory per node, e.g. 64G.")
    sbatch: list[str] = Field(default_factory=list, description="Extra #SBATCH options, one per item.")
    threads: int | None = Field(None, gt=0, description="CPU threads for torch (default: this machine's cores shared among live workers).")


# Fields of TrainingArguments that Tailor sets itself; a recipe that sets them is told so.
TAILOR_OWNED = {
    "output_dir": "Tailor writes checkpoints into the run directory",
    "logging_dir": "Tailor logs into the run directory",
    "resume_from_checkpoint": "use `tailor resume RUN`",
    "overwrite_output_dir": "every run has its own directory",
    "push_to_hub": "export the adapter with `tailor export` and push it yourself",
    "hub_token": "secrets never go into recipes; set HF_TOKEN in the environment",
}

_POSITIVE = {
    "learning_rate",
    "num_train_epochs",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "max_length",
    "beta",
}
_NON_NEGATIVE = {"weight_decay", "warmup_ratio", "warmup_steps", "max_grad_norm", "save_total_limit"}


def check_train_block(block: dict[str, Any], config_class: str) -> dict[str, Any]:
    """Check a ``train:`` block against the TRL config class's fields; raise ValueError naming the field."""
    known = trl_fields(config_class)
    for key, value in block.items():
        if key in TAILOR_OWNED:
            raise FieldError(key, f"is set by Tailor ({TAILOR_OWNED[key]}); remove it")
        if key not in known:
            hint = suggest(key, list(known))
            tip = f"; did you mean '{hint}'?" if hint else f"; see the fields of trl.{config_class}"
            raise FieldError(key, f"unknown {config_class} field{tip}")
        _check_type(key, value, known[key]["type"])
        if key in _POSITIVE and isinstance(value, int | float) and value <= 0:
            raise FieldError(key, f"must be > 0 (got {value})")
        if key in _NON_NEGATIVE and isinstance(value, int | float) and value < 0:
            raise FieldError(key, f"must be >= 0 (got {value})")
        if key == "report_to":
            _check_report_to(value)
        if key == "max_steps" and isinstance(value, int) and (value == 0 or value < -1):
            raise FieldError(key, f"must be > 0, or -1 to train for num_train_epochs (got {value})")
    return block


def _check_report_to(value: Any) -> None:
    try:
        normalise(value)
    except RecipeError as exc:
        raise FieldError("report_to", str(exc).removeprefix("train.report_to: ")) from None


class FieldError(ValueError):
    """A recipe field's problem, raised inside a validator: ``key`` names the field under the block being checked."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _check_type(key: str, value: Any, type_text: str) -> None:
    if value is None:
        if "None" not in type_text and "Optional" not in type_text:
            raise FieldError(key, "must not be null")
        return
    allowed: list[type] = []
    if "bool" in type_text:
        allowed.append(bool)
    if "int" in type_text:
        allowed.append(int)
    if "float" in type_text:
        allowed += [float, int]
    if any(t in type_text for t in ("str", "Strategy", "SchedulerType", "OptimizerNames", "DebugOption")):
        allowed.append(str)
    if any(t in type_text for t in ("list", "dict", "Config", "Any")):
        return  # structured fields: TRL validates them in the worker
    if not allowed:
        return
    if isinstance(value, bool) and bool not in allowed:
        raise FieldError(key, f"must be {_type_name(type_text)}, not a boolean")
    if not isinstance(value, tuple(allowed)):
        raise FieldError(key, f"must be {_type_name(type_text)} (got {type(value).__name__} {value!r})")


def _type_name(type_text: str) -> str:
    for name in ("bool", "float", "int", "str"):
        if type_text == f"<class '{name}'>":
            return {"bool": "true/false", "float": "a number", "int": "an integer", "str": "a string"}[name]
    return f"of type {type_text}"


def run_reference(v: str | None) -> str | None:
    """A ``from_run`` value: a run id, unique prefix, ``latest[:NAME]`` or run folder (blank is refused)."""
    if v is not None and not v.strip():
        raise ValueError("must name a run (id, unique prefix or run folder)")
    return v.strip() if v else v
