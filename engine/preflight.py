"""Checks before a launch: what is already known to fail is found here, not a minute into the run.

``preflight(path, overrides)`` loads the recipe with its overrides (the same validation as
``tailor run``), then checks what loading does not: the model resolves (a local folder with a
config.json, the built-in ``tailor/tiny``, a hub id in the cache or on a reachable hub), every row of each
local data file converts and checks as the trainer will read it, and ``lora.target_modules`` match modules
of the model (``engine/model_modules.py``). Each problem names the form
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
MODULES_TIMEOUT_S = 120.0  # building a model's module tree on the meta device (importing torch is most of it)


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
        if host == "local" and not getattr(recipe, "from_run", None):  # a host's model is checked there
            message = target_problem(recipe)
            if message:
                problems.append(Problem("recipe", message))
    return problems


def target_problem(recipe: Recipe) -> str | None:
    """Why ``lora.target_modules`` would train less than the recipe says (an entry matching no module of
    the model), or None; the worker's check (``engine/train/methods.py``) without loading the model."""
    lora = getattr(recipe, "lora", None)
    model = getattr(recipe, "model", None)
    if getattr(recipe, "method", None) not in ("lora", "qlora") or lora is None or model is None:
        return None
    targets = lora.target_modules
    if isinstance(targets, str):
        return None  # "all-linear" or a regex: PEFT checks those itself
    found = model_modules(model.name_or_path, model.revision, model.gguf_file, model.trust_remote_code)
    if found is None:
        return None  # no config.json here (yet) or no torch: the worker checks once it has the model
    names, linear = found
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if not missing:
        return None
    return (f"lora.target_modules: {', '.join(missing)} match no module of this model; "
            f"its linear modules are {', '.join(linear)}")


def model_modules(name: str, revision: str | None = None, gguf_file: str | None = None,
                  remote_code: bool = False) -> tuple[list[str], list[str]] | None:
    """(every module name, the linear layers' last names) of a model, from its config.json built on the
    meta device in a child process (``engine/models/meta_modules.py``: this process never imports torch);
    cached per config under ``cache_dir()/modules``. None when there is no config here or it cannot be built."""
    import hashlib
    import json
    import subprocess
    import sys

    from tailor.engine.config import cache_dir
    from tailor.engine.model_config import local_config

    if remote_code:
        return None  # building it would run the model's own code: left to the worker
    config = local_config(name, revision, gguf_file).config
    if not config or not config.get("model_type"):
        return None
    text = json.dumps(config, sort_keys=True)
    cached = cache_dir() / "modules" / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    try:
        found = json.loads(cached.read_text())
    except (OSError, ValueError):
        try:
            out = subprocess.run([sys.executable, "-m", "tailor.engine.models.meta_modules"], input=text,
                                 capture_output=True, text=True, timeout=MODULES_TIMEOUT_S, check=True)
            found = json.loads(out.stdout)
        except (OSError, ValueError, subprocess.SubprocessError):
            return None  # a light install, an architecture transformers does not know: the worker checks
        from tailor.engine.fsutil import atomic_write_text

        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cached, json.dumps(found))
    return list(found["modules"]), list(found["linear"])


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
    """Every row of each local training/eval file read, converted and checked as the trainer reads it
    (streamed: nothing kept), so a bad row 500 stops the launch, not the worker. Hub datasets, folders and
    globs are read by the worker."""
    from tailor.engine import kinds
    from tailor.engine.data.prepare import validate_training_data
    from tailor.engine.errors import TailorError, one_line

    task = kinds.data_task_of(recipe)
    data = getattr(recipe, "data", None)
    if task is None or data is None:
        return []
    train = [s for s in data.train if Path(s.path).is_file()]
    evals = [s for s in data.eval or [] if Path(s.path).is_file()]
    # train and eval together when both are local (their shapes must match), else each side alone
    specs = [(train, evals)] if train and evals else [(train, [])] if train else [(evals, [])] if evals else []
    problems = []
    for first, second in specs:
        spec = data.model_copy(update={"train": first, "eval": second or None})
        # the launch form checks again on every change: a file read once is not read again unchanged
        files = tuple((s.path, *_stamp(Path(s.path))) for s in first + second)
        key = (task, spec.model_dump_json(), files)
        if key not in _DATA_VERDICTS:
            try:
                validate_training_data(spec, task=task, keep=False)  # type: ignore[arg-type]
                verdict = None
            except TailorError as exc:
                verdict = one_line(exc)
            if len(_DATA_VERDICTS) >= 64:
                _DATA_VERDICTS.clear()
            _DATA_VERDICTS[key] = verdict
        if _DATA_VERDICTS[key]:
            problems.append(Problem("dataset", str(_DATA_VERDICTS[key])))
    return problems


#: (task, data spec, (path, size, mtime) of its files) -> the problem found, None when the rows are fine
_DATA_VERDICTS: dict[tuple[Any, ...], str | None] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns
