"""Tailor's engine: recipes, run directories, executors and the worker.

Usable without the TUI. Light modules (recipes, runs, executors, config, workspace) import
no ML library; the heavy ones (train, data loading, models, search, eval) import torch and
friends lazily inside functions or only in the worker process.
"""

import warnings as _warnings

from tailor import __version__ as __version__  # one version, in tailor/__init__.py

# asyncssh imports cryptography's DSA types when it loads, and current cryptography releases warn that DSA is
# deprecated, ten lines on every SSH command. Tailor never offers or accepts DSA keys: the warning is noise
# to the user, so it is silenced for asyncssh's modules alone (set here, before anything imports asyncssh).
_warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")
