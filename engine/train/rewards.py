"""GRPO reward functions: the built-ins, and user rewards frozen into the run directory and checked.

Every reward has TRL's signature, ``f(prompts, completions, completion_ids, **columns) -> list[float | None]``
(``columns`` holds the dataset's other columns, one value per completion, plus ``trainer_state``...). A
completion is a string, or for conversational prompts a list holding one assistant message.

User rewards (``function: path/file.py:name``) are hashed at launch, copied into ``<run>/rewards/`` when
the run first starts (refused if the file changed in between) and imported from that copy, so a later edit
of the file never changes a run that is training or resumes. On SSH hosts the file arrives through the
content-addressed data store (engine/remote/sync.py), as it was at launch. Before the model loads, each reward is called once on a few real rows; a file that fails to
import, a missing function, an exception or a result of the wrong shape stops the run with one line.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import RecipeError

if TYPE_CHECKING:
    from tailor.engine.recipes.grpo import GRPORecipe, RewardSpec
    from tailor.engine.worker.context import WorkerContext

FROZEN_DIR = "rewards"

#: TRL's reward signature (keyword arguments only, as TRL calls it): one float, or None, per completion.
RewardFunc = Callable[..., list[float | None]]


def completion_text(completion: object) -> str:
    """The text of a completion: a string, or the content of a conversational completion's messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, dict))
    return str(completion)


def _normal(text: object) -> str:
    return " ".join(completion_text(text).split()).lower()


class Reward:
    """A named reward callable (TRL names its metrics ``rewards/<__name__>/mean``)."""

    def __init__(self, name: str, func: RewardFunc) -> None:
        self.__name__ = name
        self.func = func

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: object) -> list[float | None]:
        return self.func(prompts=prompts, completions=completions, **kwargs)


def exact_match(column: str) -> RewardFunc:
    def reward(completions: list[Any], **kwargs: Any) -> list[float | None]:
        refs = kwargs[column]
        return [None if ref is None else float(_normal(c) == _normal(ref)) for c, ref in zip(completions, refs, strict=True)]

    return reward


def token_f1(column: str) -> RewardFunc:
    def reward(completions: list[Any], **kwargs: Any) -> list[float | None]:
        out: list[float | None] = []
        for c, ref in zip(completions, kwargs[column], strict=True):
            if ref is None:
                out.append(None)
                continue
            got, want = _normal(c).split(), _normal(ref).split()
            common = sum((Counter(got) & Counter(want)).values())
            out.append(0.0 if common == 0 else 2 * common / (len(got) + len(want)))
        return out

    return reward


def format_check(pattern: str) -> RewardFunc:
    compiled = re.compile(pattern, re.DOTALL)

    def reward(completions: list[Any], **kwargs: object) -> list[float | None]:
        return [float(compiled.search(completion_text(c)) is not None) for c in completions]

    return reward


def length_penalty(max_chars: int) -> RewardFunc:
    """0 up to ``max_chars`` characters, then falling linearly to -1 at twice that."""

    def reward(completions: list[Any], **kwargs: object) -> list[float | None]:
        return [-min(1.0, max(0, len(completion_text(c)) - max_chars) / max_chars) for c in completions]

    return reward


def builtin(spec: RewardSpec) -> RewardFunc:
    if spec.name == "exact_match":
        return exact_match(spec.column)
    if spec.name == "token_f1":
        return token_f1(spec.column)
    if spec.name == "format":
        return format_check(str(spec.pattern))
    return length_penalty(int(spec.max_chars or 1))


# -- user rewards -------------------------------------------------------------------------------------
def freeze(spec: RewardSpec, index: int, run_path: Path) -> Path:
    """The run's copy of a user reward file (made on the first start; a resume reuses it)."""
    source = Path(str(spec.path))
    folder = run_path / FROZEN_DIR
    frozen = folder / f"{index}-{source.name}"
    if frozen.exists():
        return frozen
    if not source.is_file():
        raise RecipeError(f"rewards[{index}]: reward file {source} is gone; restore it or fix the recipe")
    if spec.sha256 and hashlib.sha256(source.read_bytes()).hexdigest() != spec.sha256:
        raise RecipeError(f"{spec.path}: the reward file changed after the run was launched; launch again to "
                          "train with the new version")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = frozen.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o600)
    tmp.rename(frozen)
    return frozen


def load_user(spec: RewardSpec, frozen: Path) -> RewardFunc:
    """Import ``spec.function`` from the frozen file; one line naming the file and the fix otherwise."""
    original = spec.path
    name = f"tailor_reward_{hashlib.sha256(str(frozen).encode()).hexdigest()[:12]}"
    module_spec = importlib.util.spec_from_file_location(name, frozen)
    if module_spec is None or module_spec.loader is None:
        raise RecipeError(f"{original}: cannot load as a Python module; name a .py file")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(Path(str(original)).parent))  # its own helper modules, next to the original
    try:
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    except BaseException as exc:  # SystemExit in a script counts too: no half-started run
        sys.modules.pop(name, None)
        raise RecipeError(f"{original}{_line_in(exc, frozen)}: reward file fails to import: {_one(exc)}; "
                          "fix it (or install what it imports) and launch again") from None
    finally:
        sys.path.pop(0)
    func = getattr(module, str(spec.function), None)
    if func is None:
        raise RecipeError(f"{original}: no function {spec.function!r} in the reward file; fix the name after the ':'")
    if not callable(func):
        raise RecipeError(f"{original}: {spec.function} is a {type(func).__name__}, not a function")
    return func


def _one(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _line_in(exc: BaseException, frozen: Path) -> str:
    """``:LINE`` of the deepest frame inside the reward file (the frozen copy has the same lines)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == frozen]
    if isinstance(exc, SyntaxError) and exc.lineno:
        lines.append(exc.lineno)
    return f":{lines[-1]}" if lines else ""


# -- building and probing ---------------------------------------------------------------------------
def build_rewards(recipe: GRPORecipe, ctx: WorkerContext) -> list[Reward]:
    """One named callable per recipe reward, user files frozen into the run directory."""
    out = []
    for i, spec in enumerate(recipe.rewards):
        if spec.path is not None:
            frozen = freeze(spec, i, ctx.run.path)
            ctx.log(f"reward {spec.display}: {spec.path}:{spec.function} (frozen as {frozen.relative_to(ctx.run.path)})")
            out.append(Reward(spec.display, load_user(spec, frozen)))
        else:
            out.append(Reward(spec.display, builtin(spec)))
    return out


def probe(recipe: GRPORecipe, rewards: list[Reward], rows: list[dict[str, Any]]) -> None:
    """Call every reward once, as TRL will, on up to 2 rows with 2 completions each; refuse what breaks.

    The completions are the reference answer (when the row has one) and an empty one, in the shape TRL
    passes: strings for string prompts, a one-message list for conversational prompts.
    """
    rows = rows[:2]
    prompts, completions, columns = [], [], {}
    for row in rows:
        conversational = isinstance(row["prompt"], list)
        for text in (str(row.get("answer") or "probe"), ""):
            prompts.append(row["prompt"])
            completions.append([{"role": "assistant", "content": text}] if conversational else text)
    for key in rows[0]:
        if key != "prompt":
            columns[key] = [row.get(key) for row in rows for _ in range(2)]
    extras = {"completion_ids": [[0] for _ in completions], "trainer_state": None,
              "log_extra": lambda *a, **k: None, "log_metric": lambda *a, **k: None}
    for spec, reward in zip(recipe.rewards, rewards, strict=True):
        where = f"{spec.path}" if spec.path else f"rewards: {spec.display}"
        try:
            result = reward(prompts, completions, **columns, **extras)
        except Exception as exc:
            frozen = getattr(getattr(reward.func, "__code__", None), "co_filename", "")
            line = _line_in(exc, Path(frozen)) if frozen else ""
            raise RecipeError(f"{where}{line}: reward {spec.display} raised {_one(exc)} on the first rows; it is "
                              "called as f(prompts, completions, completion_ids, **columns) — take **kwargs") from None
        problem = shape_problem(result, len(completions))
        if problem:
            raise RecipeError(f"{where}: reward {spec.display} returned {problem}; return a list with one float "
                              f"(or None) per completion ({len(completions)} here)")


def shape_problem(result: Any, n: int) -> str | None:
    """What is wrong with a reward's result for ``n`` completions (None when it is fine)."""
    if isinstance(result, str | bytes | dict) or not hasattr(result, "__len__"):
        return f"a {type(result).__name__}"
    if len(result) != n:
        return f"{len(result)} values for {n} completions"
    for value in result:
        if value is not None and not (isinstance(value, int | float) or hasattr(value, "__float__")):
            return f"a {type(value).__name__} among its values"
    return None
