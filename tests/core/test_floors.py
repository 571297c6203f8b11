"""The engine's floors: no import circle anywhere in the engine, counted over every import (module level,
inside functions and under ``TYPE_CHECKING``), so none is merely hidden in a function. Which floor may
import which is the import-linter contract "the engine's floors" in pyproject.toml (``lint-imports``)."""

from __future__ import annotations

import grimp


def test_the_engine_has_no_import_circle() -> None:
    graph = grimp.build_graph("tailor", include_external_packages=False)  # TYPE_CHECKING imports included
    engine = sorted(m for m in graph.modules if m == "tailor.engine" or m.startswith("tailor.engine."))
    circles = []
    for importer in engine:
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.startswith("tailor.engine") and graph.chain_exists(importer=imported, imported=importer):
                back = graph.find_shortest_chain(importer=imported, imported=importer) or ()
                circles.append(" -> ".join((importer, *back)))
    assert circles == []


def test_every_engine_module_has_a_floor() -> None:
    """The layers contract names every top-level engine module and package, so a new one gets a floor."""
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    config = tomllib.loads((repo / "pyproject.toml").read_text())
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    named = {part.strip() for layer in contract["layers"] for part in layer.replace(":", "|").split("|")}
    engine = {
        p.stem for p in (repo / "engine").iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and not p.name.startswith("__")
    }
    assert sorted(engine - named) == [], "give them a floor in pyproject.toml's layers contract"
