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


class ResumeRefused(RunError):
    """A resume would train on something other than what the checkpoint was trained with."""


class ModelError(TailorError):
    """A model cannot be resolved or loaded (offline hub id, missing path, ...)."""


class HostError(TailorError):
    """A remote host cannot be reached, authenticated or trusted."""


#: The command that adds the training stack to a light install (engine/stack.py lists what it holds).
TRAIN_EXTRA = "pip install 'tailor-tui[train]'"

#: The import names of the ``train`` extra's distributions (pyproject.toml); engine/stack.py checks them.
TRAINING_STACK = ("torch", "transformers", "tokenizers", "peft", "trl", "datasets", "accelerate", "optuna",
                  "sacrebleu", "rouge_score", "gguf")
#: A library that only the extra brings along (a dependency of transformers), reported the same way.
_BROUGHT_ALONG = ("safetensors",)


class MissingExtra(TailorError):
    """A feature needs a library of the ``train`` extra that this (light) install does not have."""


def missing_extra(exc: BaseException) -> MissingExtra | None:
    """``exc`` as one line naming the extra, when it is the import of a training-stack library that failed."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if isinstance(exc, ModuleNotFoundError) and name in TRAINING_STACK + _BROUGHT_ALONG:
        return MissingExtra(f"this needs {name}, which is not installed here: {TRAIN_EXTRA}")
    return None


def permission_denied(path: object) -> str:
    """``permission denied: PATH; ...`` with the fix (never "not readable" or a traceback)."""
    where = path if path else "a file"
    return (f"permission denied: {where}; give your user access (`ls -l` shows the owner and mode; e.g. "
            f"`chmod u+rw {where}`) or run as the user who owns it")


def one_line(exc: BaseException) -> str:
    """A one-line description of any exception, for notifications and status files."""
    if isinstance(exc, TailorError):
        return str(exc)
    extra = missing_extra(exc)
    if extra is not None:
        return str(extra)
    if isinstance(exc, PermissionError):
        return permission_denied(exc.filename)
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"
