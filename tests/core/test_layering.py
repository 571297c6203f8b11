"""Layering: engine never imports the TUI; the TUI and light engine modules load no ML library."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "optuna", "accelerate", "tokenizers")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_engine_never_imports_textual_or_tui() -> None:
    offenders = {
        str(p.relative_to(REPO)): sorted(_imports(p) & {"textual", "tui", "textual_plotext"})
        for p in (REPO / "engine").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_light_modules_and_tui_load_no_ml_library() -> None:
    modules = [
        "engine",
        "engine.config",
        "engine.workspace",
        "engine.recipes",
        "engine.recipes.overrides",
        "engine.runs",
        "engine.runs.format",
        "engine.runs.lookup",
        "engine.memory_estimate",
        "engine.model_config",
        "engine.executors",
        "engine.executors.factory",
        "engine.worker.launch",
        "tui",
        "tui.cli",
        "tui.cli.runs",
        "tui.app",
    ]
    modules += sorted(
        "tui." + ".".join(p.relative_to(REPO / "tui").with_suffix("").parts)
        for p in (REPO / "tui").rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and "__pycache__" not in p.parts
    )
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_tui_module_level_imports_are_light() -> None:
    """Heavy libraries may appear in the TUI only inside functions (worker threads), never at module level."""
    offenders = []
    for path in (REPO / "tui").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module.split(".")[0]]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n in HEAVY]
    assert offenders == []
