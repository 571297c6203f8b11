"""Conventions of the TUI code: messages nested on the class that posts them, worker groups named one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"
GROUP = re.compile(r"^[a-z_]+\.[a-z_]+$")  # "<owner>.<purpose>": runs.scan, datasets.open, curves.plot
MESSAGE_BASES = {"Progress"}  # shared bases that are never posted themselves


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), filename=str(p))) for p in sorted(TUI.rglob("*.py"))]


def _base_names(node: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else b.attr for b in node.bases if isinstance(b, ast.Name | ast.Attribute)}


def test_messages_are_nested_on_the_class_that_posts_them() -> None:
    top_level = [
        f"{p.relative_to(TUI.parent)}: {node.name}"
        for p, tree in _sources()
        for node in tree.body
        if isinstance(node, ast.ClassDef) and "Message" in _base_names(node) and node.name not in MESSAGE_BASES
    ]
    assert top_level == []
    assert not (TUI / "messages.py").exists()


def test_every_worker_has_an_owner_dot_purpose_group() -> None:
    problems = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name not in ("work", "run_worker"):
                continue
            group = next((k.value for k in node.keywords if k.arg == "group"), None)
            where = f"{path.relative_to(TUI.parent)}:{node.lineno}"
            if not isinstance(group, ast.Constant) or not GROUP.match(str(group.value)):
                problems.append(f"{where}: group={ast.unparse(group) if group else None}")
    assert problems == []
