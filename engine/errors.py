"""User-facing errors: each carries a one-line message that names what is wrong and what to do."""

from __future__ import annotations


class TailorError(Exception):
    """An expected failure. ``str(err)`` is a complete one-line message; never show a traceback for it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class RecipeError(TailorError):
    """A recipe file does not validate."""


class DataError(TailorError):
    """A dataset cannot be read or does not fit the task."""


class RunError(TailorError):
    """A run directory is missing, malformed, or in the wrong state for the request."""


class ModelError(TailorError):
    """A model cannot be resolved or loaded (offline hub id, missing path, ...)."""


class HostError(TailorError):
    """A remote host cannot be reached, authenticated or trusted."""


def one_line(exc: BaseException) -> str:
    """A one-line description of any exception, for notifications and status files."""
    if isinstance(exc, TailorError):
        return str(exc)
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"
