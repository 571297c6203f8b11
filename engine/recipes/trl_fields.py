"""Which fields TRL's config classes accept, without importing TRL (it takes seconds to import).

``trl_fields.json`` is a snapshot taken from the installed TRL by :func:`generate`; a test checks it
still matches, so upgrading TRL means running ``python -m tailor.engine.recipes.trl_fields``.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tailor.engine import kinds

CONFIG_CLASSES = {
    "SFTConfig": "trl:SFTConfig",
    "DPOConfig": "trl:DPOConfig",
    "KTOConfig": "trl:KTOConfig",
    "ORPOConfig": "trl.experimental.orpo:ORPOConfig",
    "GRPOConfig": "trl:GRPOConfig",
}


@lru_cache(maxsize=1)
def snapshot() -> dict[str, Any]:
    return json.loads(resources.files("tailor.engine.recipes").joinpath("trl_fields.json").read_text())


def fields(config_class: str) -> dict[str, dict[str, Any]]:
    """``{field: {"type": "...", "default": ...}}`` for a TRL config class.

    Classes in the snapshot answer at once. Another (a kind registered with ``trl_config="trl:XConfig"``
    before the snapshot was regenerated) is read from the installed TRL once: slow, but right.
    """
    known = snapshot()
    if config_class in known:
        return known[config_class]
    return _live(config_class)


@cache
def _live(config_class: str) -> dict[str, dict[str, Any]]:
    target = _targets().get(config_class) or f"trl:{config_class}"
    return generate({config_class: target})[config_class]


def _targets() -> dict[str, str]:
    """The built-in classes plus every registered kind's ``trl_config`` given as ``module:Class``."""
    extra = {k.trl_config.rpartition(":")[2]: k.trl_config for k in kinds.all_kinds() if k.trl_config and ":" in k.trl_config}
    return {**CONFIG_CLASSES, **extra}


def generate(classes: dict[str, str] | None = None) -> dict[str, Any]:
    """Read the field lists from the installed TRL (slow: imports trl)."""
    import dataclasses
    import importlib
    import os
    import typing

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import transformers
    import trl

    out: dict[str, Any] = {"_versions": {"trl": trl.__version__, "transformers": transformers.__version__}}
    for name, target in (classes or _targets()).items():
        module, attr = target.split(":")
        cls = getattr(importlib.import_module(module), attr)
        hints = typing.get_type_hints(cls)
        entry: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            default = f.default if f.default is not dataclasses.MISSING else None
            try:
                json.dumps(default)
            except TypeError:
                default = str(default)
            entry[f.name] = {"type": str(hints.get(f.name)).replace("typing.", ""), "default": default}
        out[name] = entry
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("trl_fields.json")
    path.write_text(json.dumps(generate(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
