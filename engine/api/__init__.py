"""The engine's public API: what the TUI and the CLI (and any other front end) may import.

One module per area, each light to import (no ML library at module level) so a front end pays only
for the areas it opens: ``errors``, ``workspace``, ``kinds``, ``recipes``, ``runs``, ``executors``,
``launch``, ``hosts``, ``data``, ``evals``, ``search``, ``chat``, ``export``. Each re-exports the engine's
functions, classes and typed data classes of its area under ``__all__``; everything else in
``tailor.engine`` is internal and may move. ``tailor.tui`` imports the engine only through here (an
import-linter contract in pyproject.toml and tests/core/test_layering.py hold it to that).
"""
