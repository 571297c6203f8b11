"""The training stack: the libraries of the ``train`` extra, which a light install (``pip install
tailor-tui``, a laptop that drives remote GPUs) does not have.

Whatever runs a model here (a local run, search, eval or chat worker) is refused before it starts, with one
line naming the command that adds the stack; a feature of the TUI or CLI process that needs one of these
libraries (a tokenizer view, an Optuna study) says the same in one line when the import fails
(:func:`tailor.engine.errors.one_line`). Light: nothing here imports the libraries it names.
"""

from __future__ import annotations

import importlib.util

from tailor.engine.errors import TRAIN_EXTRA, TRAINING_STACK, MissingExtra


def missing(modules: tuple[str, ...] = TRAINING_STACK) -> list[str]:
    """The modules of ``modules`` that cannot be imported here (found without importing them)."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def refusal(what: str, modules: tuple[str, ...] = TRAINING_STACK, *, launch: bool = False) -> str | None:
    """Why ``what`` cannot run here, in one line with the command that fixes it; None when it can.
    ``launch``: ``what`` starts a worker, which a host with the stack could run instead."""
    absent = missing(modules)
    if not absent:
        return None
    names = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
    elsewhere = ", or launch it on a host (--host)" if launch else ""
    return f"{what} needs the training stack ({names} not installed here): {TRAIN_EXTRA}{elsewhere}"


def require(what: str, modules: tuple[str, ...] = TRAINING_STACK, *, launch: bool = False) -> None:
    """Raise :class:`MissingExtra` with :func:`refusal`'s line when ``what`` cannot run here."""
    line = refusal(what, modules, launch=launch)
    if line:
        raise MissingExtra(line)
