"""Tailor: a keyboard-driven terminal workbench for fine-tuning LLMs.

One import namespace: ``tailor.engine`` (the library: recipes, run directories, executors, the worker),
``tailor.tui`` (the Textual app and the CLI) and ``tailor.recipes`` (the example recipes as package data).
In the repository they live at its root as ``engine/``, ``tui/`` and ``recipes/``; pyproject.toml maps them
under this package. ``python -m tailor`` runs the CLI.
"""

__version__ = "0.1.0"
