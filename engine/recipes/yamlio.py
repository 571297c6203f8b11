"""YAML loading with YAML 1.2 floats (PyYAML reads ``1e-3`` as a string, users mean a number), and
refusals of what silently goes wrong: duplicate keys (the last one would win) and alias bombs (a few
lines whose aliases expand to billions of nodes exhaust memory in anything that walks the result)."""

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


#: Nodes a document may expand to with its aliases followed; real recipes have a few hundred.
MAX_EXPANDED_NODES = 100_000


class RecipeYAMLError(yaml.MarkedYAMLError):
    """A refusal with the line it is about (``problem_mark``), reported like any invalid YAML."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def load_yaml(text: str) -> Any:
    node = compose_yaml(text)
    if node is None:
        return None
    loader = TailorLoader("")  # a SafeLoader subclass
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def compose_yaml(text: str) -> yaml.Node | None:
    """The checked node graph: no duplicate keys, bounded expansion; deep nesting is a YAML error."""
    try:
        node = yaml.compose(text, Loader=TailorLoader)
    except RecursionError:
        raise RecipeYAMLError("nested too deep (thousands of brackets or indents)", None) from None
    if node is not None:
        check_node(node)
    return node


def check_node(root: yaml.Node) -> None:
    """Refuse duplicate mapping keys and documents whose aliases expand past ``MAX_EXPANDED_NODES``.

    Iterative, and each node is visited once (aliases point at the same node object), so the check
    itself costs the size of the text, not of the expansion.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        children = _children(node)
        if not done:
            if isinstance(node, yaml.MappingNode):
                _check_keys(node)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        total = 1 + sum(size.get(id(c), 1) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise RecipeYAMLError(
                f"this block expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases (&/*); "
                "write the values out instead of nesting aliases",
                node.start_mark,
            )
        size[id(node)] = total


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_keys(node: yaml.MappingNode) -> None:
    seen: dict[str, Any] = {}
    for key, _value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if key.value in seen:
            first = seen[key.value]
            raise RecipeYAMLError(
                f"duplicate key {key.value!r} (first at line {first.line + 1}); keep one of them", key.start_mark
            )
        seen[key.value] = key.start_mark
