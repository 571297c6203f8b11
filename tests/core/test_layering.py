"""Layering: engine never imports the TUI; the TUI uses the engine only through its API (tailor.engine.api),
reaches no module's private names and has no import circle; the TUI and light engine modules load no ML
library."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

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


API_MODULES = sorted(f"tailor.engine.api.{p.stem}" for p in (REPO / "engine" / "api").glob("*.py") if p.stem != "__init__")


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
        *API_MODULES,
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


def test_tui_imports_the_engine_only_through_its_api() -> None:
    """Every ``tailor.engine`` import in tui/ (function-level and TYPE_CHECKING ones too) names an api module."""
    offenders = {
        str(p.relative_to(REPO)): sorted(
            m for m in _imports(p) if _under(m, "tailor.engine") and not _under(m, "tailor.engine.api")
        )
        for p in _sources("tui")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_api_contract_forbids_every_other_engine_module() -> None:
    """The import-linter contract lists every engine module and package but the API: a new one cannot slip past."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c.get("source_modules") == ["tailor.tui"]
                   and c["type"] == "forbidden" and any(m.startswith("tailor.engine.") for m in c["forbidden_modules"])]
    forbidden = set(contract["forbidden_modules"])
    engine = {
        f"tailor.engine.{p.stem}" for p in (REPO / "engine").iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and not p.name.startswith("__")
    }
    assert "tailor.engine.api" in engine and not any(_under(m, "tailor.engine.api") for m in forbidden)
    assert sorted(engine - forbidden - {"tailor.engine.api"}) == [], "add them to the contract in pyproject.toml"


def test_api_modules_say_what_they_offer() -> None:
    """Each api module has a docstring and an ``__all__`` that names exactly what it imports from the engine."""
    assert len(API_MODULES) >= 10
    for name in API_MODULES:
        module = importlib.import_module(name)
        assert module.__doc__, f"{name}: add a module docstring"
        public = {k for k, v in vars(module).items() if not k.startswith("_") and getattr(v, "__module__", "") != "__future__"}
        assert sorted(module.__all__) == sorted(public), f"{name}: __all__ must list what the module offers"


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = []
    for path in _sources("engine", "tui"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tailor"):
                offenders += [
                    f"{path.relative_to(REPO)}:{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []


def test_no_type_ignore_on_app_access() -> None:
    """Screens and widgets reach the app through the typed ``self.tailor`` (tui/context.py), never ``# type: ignore``."""
    app_access = re.compile(r"(?<![\w.])app\.\w|\bself\.app\b|\.tailor\b")
    offenders = [
        f"{p.relative_to(REPO)}:{n}"
        for p in _sources("tui")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "type: ignore" in line and app_access.search(line.split("#", 1)[0])
    ]
    assert offenders == []


def test_every_screen_has_the_typed_app() -> None:
    """Modal or not, every screen has ``self.tailor`` (tui/context.py: AppAccess)."""
    from textual.screen import Screen

    from tailor.tui.context import AppAccess

    missing = []
    for path in _sources("tui"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        name = "tailor.tui." + ".".join(path.relative_to(REPO / "tui").with_suffix("").parts)
        for cls in vars(importlib.import_module(name)).values():
            if isinstance(cls, type) and cls.__module__ == name and issubclass(cls, Screen) and not issubclass(cls, AppAccess):
                missing.append(f"{name}.{cls.__name__}")
    assert missing == []


def test_no_import_circle_in_the_tui() -> None:
    """Function-level and TYPE_CHECKING imports count: a circle must be gone, not hidden."""
    graph = grimp.build_graph("tailor")
    tui = {m for m in graph.modules if _under(m, "tailor.tui")}
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d in tui} for m in tui}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo += edges[m]
        return False

    assert sorted((a, b) for a in edges for b in edges[a] if reaches(b, a)) == []
