"""Checks before a launch: what is already known to fail is found here, not a minute into the run.

``preflight(path, overrides)`` loads the recipe with its overrides (the same validation as
``tailor run``), then checks what loading does not: the model resolves (a local folder with a
config.json, the built-in ``tailor/tiny``, a hub id in the cache or on a reachable hub) and the first
rows of each local data file are in a format the recipe's kind trains on. Each problem names the form
field it belongs to, so the launch form shows it under that field.

Light: no torch/transformers/datasets; the hub is asked only when the model is not cached and the hub
is not switched off (``HF_HUB_OFFLINE``), with a short timeout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailor.engine.recipes.common import Recipe

HUB_TIMEOUT_S = 5.0
HEAD_ROWS = 20


@dataclass
class Problem:
    """One reason not to launch; ``field``: model, dataset, from_run, overrides or recipe."""

    field: str
    message: str


def field_of(message: str) -> str:
    """The form field a recipe error is about, from the dotted location it names."""
    head = message.split(": ", 2)[:2]
    text = " ".join(head)
    for key, name in (("data.", "dataset"), ("data:", "dataset"), ("model", "model"), ("from_run", "from_run"),
                      ("lora.r", "r"), ("learning_rate", "learning_rate"), ("num_train_epochs", "epochs")):
        if key in text:
            return name
    return "recipe"


def preflight(path: Path, overrides: dict[str, Any] | None = None, *, host: str = "local") -> list[Problem]:
    """Every problem found, in form order; empty when the launch may go ahead."""
    from tailor.engine import kinds, stack
    from tailor.engine.errors import TailorError, one_line
    from tailor.engine.recipes.overrides import load_with_overrides

    refused = stack.refusal("a local run", launch=True) if host == "local" else None
    if refused:  # a light install: the worker could not start here
        return [Problem("recipe", refused)]

    try:
        recipe = load_with_overrides(path, overrides or None)
    except TailorError as exc:
        text = one_line(exc)
        for prefix in (f"{path} (with overrides): ", f"{path}: "):  # the form knows which recipe it is
            text = text.removeprefix(prefix)
        return [Problem(field_of(text), text)]
    problems: list[Problem] = []
    if recipe.kind in kinds.trainable():
        model = getattr(recipe, "model", None)
        if model is not None and not getattr(recipe, "from_run", None):
            message = model_problem(model.name_or_path, model.revision, local=host == "local")
            if message:
                problems.append(Problem("model", message))
        problems += data_problems(recipe)
    return problems


def model_problem(name: str, revision: str | None = None, *, local: bool = True) -> str | None:
    """Why ``name`` cannot be loaded, or None. ``local``: local paths are checked (on a remote host they
    are the host's paths)."""
    from tailor.engine.recipes.load import looks_like_hub_id

    if name == "tailor/tiny":
        return None
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            return f"model folder {path} has no config.json"
        return None
    if not looks_like_hub_id(name):
        if not local:
            return None  # a path on the host: checked there
        return f"model folder {name!r} does not exist (a local folder, tailor/tiny or a hub id org/name)"
    return _hub_problem(name, revision)


def _hub_problem(name: str, revision: str | None) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(name, "config.json", revision=revision), str):
            return None
    except Exception:  # a malformed id: asked below
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return f"model {name!r} is not in the Hugging Face cache and the hub is offline (HF_HUB_OFFLINE)"
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        HfApi().model_info(name, revision=revision, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        return None  # it exists; the worker reports a missing token with its own message
    except RepositoryNotFoundError:
        return f"model {name!r} is not on the Hugging Face hub (check the spelling, or log in for a private one)"
    except Exception as exc:
        return f"model {name!r} is not in the cache and the hub is unreachable ({type(exc).__name__})"
    return None


def data_problems(recipe: Recipe) -> list[Problem]:
    """The first rows of each local training/eval file: a format the recipe's kind trains on?"""
    from tailor.engine import kinds
    from tailor.engine.data.formats import TASK_FORMATS, wrong_task
    from tailor.engine.data.prepare import detect_format
    from tailor.engine.data.readers import iter_records
    from tailor.engine.errors import TailorError, one_line

    task = kinds.data_task_of(recipe)
    data = getattr(recipe, "data", None)
    if task is None or data is None:
        return []
    problems = []
    for src in list(data.train) + list(data.eval or []):
        path = Path(src.path)
        if not path.is_file():
            continue  # hub datasets, folders and globs are read by the worker
        try:
            head = []
            for rec in iter_records(path):
                head.append(rec)
                if len(head) >= HEAD_ROWS:
                    break
            fmt = src.format if src.format != "auto" else detect_format(head, path.name, src.columns)
        except TailorError as exc:
            problems.append(Problem("dataset", one_line(exc)))
            continue
        if fmt not in TASK_FORMATS[task]:
            problems.append(Problem("dataset", f"{path.name}: {wrong_task(fmt, task)}"))
    return problems
