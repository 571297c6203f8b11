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
    """Every module a file imports, as written (``from tailor import engine`` gives ``tailor.engine``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in (REPO / f).rglob("*.py") if "__pycache__" not in p.parts]


def _under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_engine_never_imports_textual_or_tui() -> None:
    offenders = {
        str(p.relative_to(REPO)): sorted(m for m in _imports(p) if _under(m, "textual", "textual_plotext", "tailor.tui"))
        for p in _sources("engine")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_one_namespace() -> None:
    """Everything is imported as ``tailor.…``: no top-level ``engine``, ``tui`` or ``recipes`` (they would
    clash with PyPI's distributions of those names), and the wheel installs nothing else at top level."""
    offenders = {
        str(p.relative_to(REPO)): sorted(m for m in _imports(p) if _under(m, "engine", "tui", "recipes"))
        for p in _sources("engine", "tui", "tests", "bench", "tailor")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    for name in ("engine", "tui", "recipes"):
        link = REPO / "tailor" / name
        assert link.is_symlink() and link.resolve() == (REPO / name).resolve(), f"tailor/{name} must link to {name}/"


def test_light_modules_and_tui_load_no_ml_library() -> None:
    modules = [
        "tailor",
        "tailor.engine",
        "tailor.engine.config",
        "tailor.engine.workspace",
        "tailor.engine.recipes",
        "tailor.engine.recipes.overrides",
        "tailor.engine.runs",
        "tailor.engine.runs.format",
        "tailor.engine.runs.lookup",
        "tailor.engine.memory_estimate",
        "tailor.engine.model_config",
        "tailor.engine.executors",
        "tailor.engine.executors.factory",
        "tailor.engine.worker.launch",
        "tailor.tui",
        "tailor.tui.cli",
        "tailor.tui.cli.runs",
        "tailor.tui.app",
    ]
    modules += sorted(
        "tailor.tui." + ".".join(p.relative_to(REPO / "tui").with_suffix("").parts)
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
