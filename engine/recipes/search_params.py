"""What a search parameter name means: the recipe field it sets, its type, and its literature default.

Light module (no Optuna), on the recipe floor: the search recipe's schema uses it to validate a ``space:``
before anything starts, and engine/search/space.py to turn a space into trials. The defaults of the fields
every trainable kind shares are here; a kind's own (its learning rates, DPO's and GRPO's ``beta``) are its
registry entry's ``search_ranges`` (engine/kinds.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tailor.engine import kinds
from tailor.engine.recipes.common import LoraSpec
from tailor.engine.recipes.trl_fields import fields as trl_fields

if TYPE_CHECKING:
    from tailor.engine.recipes.trainable import TrainableRecipe

# Short names from the issue and other tools -> the recipe field they set.
ALIASES: dict[str, str] = {
    "r": "lora.r",
    "lora_alpha": "lora.lora_alpha",
    "lora_dropout": "lora.lora_dropout",
    "epochs": "train.num_train_epochs",
    "batch_size": "train.per_device_train_batch_size",
}

# Top-level recipe fields a dotted parameter (``model.name_or_path``, ``data.seed``) may start with.
DOTTED_ROOTS = ("lora", "train", "model", "data", "seed", "method", "prompt", "partial", "quantization")
# Top-level fields that are sections or identity, never a parameter by themselves.
STRUCTURAL = {
    "kind", "name", "description", "model", "lora", "quantization", "partial", "prompt", "data", "train",
    "early_stopping", "resources", "evaluate", "ref_model", "from_run",
}

RANKS = [8, 16, 32, 64, 128, 256]


def config_class_of(base: TrainableRecipe) -> str:
    """The TRL config class whose fields the base recipe's ``train:`` takes (KTO/ORPO differ from DPO)."""
    return base.trl_config_class


def _top_level(base: TrainableRecipe) -> list[str]:
    return [f for f in type(base).model_fields if f not in STRUCTURAL]


def target_of(name: str, base: TrainableRecipe) -> str | None:
    """The dotted recipe field a space key sets in ``base`` (an sft/dpo recipe), or None if unknown.

    Plain names resolve, in order: our aliases (r, epochs, batch_size), top-level fields of the base
    recipe (dpo: beta, loss_type...), LoRA fields, fields of the TRL config class; dotted names are
    recipe paths (``train.warmup_steps``, ``model.name_or_path``).
    """
    if name in ALIASES:
        return ALIASES[name]
    if name in _top_level(base):
        return name
    if name in LoraSpec.model_fields:
        return f"lora.{name}"
    if name in trl_fields(config_class_of(base)):
        return f"train.{name}"
    root = name.split(".", 1)[0]
    if "." in name and root in DOTTED_ROOTS:
        return name
    return None


def known_names(base: TrainableRecipe) -> list[str]:
    """Every plain name a space accepts (for did-you-mean hints)."""
    return [*ALIASES, *_top_level(base), *LoraSpec.model_fields, *trl_fields(config_class_of(base))]


def value_type(target: str, base: TrainableRecipe) -> type | None:
    """int / float / bool / str for a field we know the type of, else None."""
    section, _, field = target.partition(".")
    if not field:
        info = type(base).model_fields.get(section)
        return _plain_type(info.annotation if info else None)
    if section == "lora" and field in LoraSpec.model_fields:
        return _plain_type(LoraSpec.model_fields[field].annotation)
    if section == "train":
        entry = trl_fields(config_class_of(base)).get(field)
        if entry:
            text = entry["type"]
            for kind in (bool, int, float, str):
                if text == f"<class '{kind.__name__}'>":
                    return kind
    return None


# The literature defaults of the fields every trainable kind shares; a kind's ``search_ranges`` win.
SHARED_RANGES: dict[str, dict[str, Any]] = {
    "lora.r": {"choices": list(RANKS)},
    "train.learning_rate": {"low": 1e-5, "high": 1e-3, "log": True},
    "lora.lora_alpha": {"tie": "r", "scale": 2.0},
    "lora.lora_dropout": {"low": 0.0, "high": 0.1},
    "train.num_train_epochs": {"choices": [1, 2, 3]},
    "train.per_device_train_batch_size": {"choices": [2, 4, 8, 16]},
    "train.weight_decay": {"low": 0.0, "high": 0.1},
    "train.warmup_ratio": {"low": 0.0, "high": 0.1},
}


def default_spec(target: str, kind: str) -> dict[str, Any] | None:
    """The default for a parameter given without a range: the kind's own, else the shared one, else None."""
    own = kinds.get(kind).search_ranges if kinds.known(kind) else {}
    spec = own.get(target, SHARED_RANGES.get(target))
    return {k: list(v) if isinstance(v, list) else v for k, v in spec.items()} if spec else None


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _plain_type(annotation: Any) -> type | None:
    return next((t for t in (int, float, bool, str) if annotation == t), None)


def coerce_number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-5`` (no dot) as a string; make such strings numbers again."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        text = value.strip()
        as_float = float(text)
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else as_float
    return value


_TIE = re.compile(r"^\s*(?:(\d+\.?\d*|\.\d+)\s*\*?\s*)?([A-Za-z_][A-Za-z0-9_.]*)\s*$")


def parse_tie(text: str, names: set[str]) -> tuple[str, float] | None:
    """``"2*r"``, ``"2r"`` or ``"r"`` -> ("r", 2.0) when ``r`` is a parameter name; else None."""
    m = _TIE.match(text)
    if not m or m.group(2) not in names:
        return None
    return m.group(2), float(m.group(1)) if m.group(1) else 1.0


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, creating the intermediate mappings."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str) and part == "model":
            child = {"name_or_path": child}
        if not isinstance(child, dict):
            child = {}
        node[part] = child
        node = child
    node[parts[-1]] = value


def get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
