"""Errors: the engine's one-line error types and ``one_line`` to show any exception as one line."""

from tailor.engine.errors import (
    DataError,
    HostError,
    RecipeError,
    ResumeRefused,
    RunError,
    TailorError,
    missing_extra,
    one_line,
)

__all__ = ["DataError", "HostError", "RecipeError", "ResumeRefused", "RunError", "TailorError", "missing_extra", "one_line"]
