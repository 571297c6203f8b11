"""Tailor's engine: recipes, run directories, executors and the worker.

Usable without the TUI. Light modules (recipes, runs, executors, config, workspace) import
no ML library; the heavy ones (train, data loading, models, search, eval) import torch and
friends lazily inside functions or only in the worker process.
"""

from tailor import __version__ as __version__  # one version, in tailor/__init__.py
