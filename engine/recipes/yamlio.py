"""YAML loading with YAML 1.2 floats: PyYAML reads ``1e-3`` as a string, users mean a number."""

from __future__ import annotations

import re
from typing import Any

import yaml


class TailorLoader(yaml.SafeLoader):
    pass


TailorLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=TailorLoader)  # a SafeLoader subclass


def compose_yaml(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=TailorLoader)
