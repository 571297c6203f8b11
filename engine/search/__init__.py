"""Optuna searches whose trials are runs (see docs/search.md).

Light package: ``params`` and ``storage`` URL checks are imported by the recipe schema; everything that
needs Optuna imports it inside functions or lives in the worker-side modules (run, trial, study).
"""

from tailor.engine.errors import TailorError


class SearchError(TailorError):
    """A study cannot be opened, created or used as asked."""


__all__ = ["SearchError"]
