"""``kind: grpo`` — reinforcement learning with verifiable rewards through TRL's GRPOTrainer.

Schema (``model:``, ``method:``, ``lora:``, ``data:``... are shared with ``kind: sft``)::

    kind: grpo
    rewards:                      # one or more, summed with their weights
      - exact_match               # built-in: the completion equals the row's `answer` column
      - {name: token_f1, column: answer, weight: 0.5}
      - {name: format, pattern: '<answer>.*?</answer>', weight: 0.2}
      - {name: length, max_chars: 200, weight: 0.1}
      - {function: rewards/mine.py:score, weight: 1.0}   # yours: TRL's reward signature, relative path
    num_generations: 8            # completions sampled per prompt (the group GRPO compares)
    max_completion_length: 64     # tokens generated per completion
    temperature: 1.0              # sampling temperature of those completions
    beta: 0.04                    # KL pull towards the starting model (0: no reference kept, no KL)
    samples: {every: 10, count: 4}  # a `samples` event (prompts, completions, rewards) every 10 steps
    from_run: RUN                 # start from a finished sft/dpo/grpo run (id, unique prefix or folder)
    from_run_mode: merge          # merge | stack, as for dpo
    train: {...}                  # any other field of trl.GRPOConfig

Data rows carry a ``prompt`` (a string, or a list of chat turns ending with the user's) plus whatever
columns the rewards read; prompt-completion rows work too (the completion becomes the ``answer`` column).
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tailor.engine.errors import RecipeError
from tailor.engine.recipes.common import FieldError, Strict, check_train_block, run_reference
from tailor.engine.recipes.load import resolve_data_paths
from tailor.engine.recipes.trainable import TrainableRecipe

BUILTIN_REWARDS = ("exact_match", "token_f1", "format", "length")
# Top-level fields that are also GRPOConfig fields: set them at the top level only (one place; search tunes them).
TOP_LEVEL = ("beta", "num_generations", "max_completion_length", "temperature", "reward_weights")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RewardSpec(Strict):
    """One reward: a built-in (``name``) or a user function (``function: path/file.py:name``)."""

    name: Literal["exact_match", "token_f1", "format", "length"] | None = Field(
        None, description="A built-in reward: exact_match, token_f1, format, length."
    )
    function: str | None = Field(None, description="A user reward as path/to/file.py:function (relative to the recipe).")
    path: str | None = Field(None, description="Set from `function`: the reward file (absolute once loaded).")
    sha256: str | None = Field(None, description="Set at launch: the reward file's hash (the run refuses a changed file).")
    weight: float = Field(1.0, description="Its weight in the summed reward.")
    column: str = Field("answer", description="exact_match / token_f1: the reference column.")
    pattern: str | None = Field(None, description="format: a regular expression the completion must match.")
    max_chars: int | None = Field(None, gt=0, description="length: completions longer than this are penalised.")
    label: str | None = Field(None, description="The name its metrics get (rewards/<label>/mean); default the name.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"function": value} if ".py:" in value else {"name": value}
        if isinstance(value, dict) and isinstance(value.get("function"), str) and "path" not in value:
            file, sep, func = value["function"].rpartition(":")
            if sep and file.endswith(".py"):
                return {**value, "path": file, "function": func}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RewardSpec:
        if (self.name is None) == (self.path is None):
            if self.name is None and self.function:
                raise FieldError("function", "write it as path/to/file.py:function_name")
            raise ValueError("give either a built-in `name` (exact_match, token_f1, format, length) or "
                             "`function: path/to/file.py:function_name`")
        if self.path is not None and not (self.function and _IDENT.match(self.function)):
            raise FieldError("function", f"{self.function!r} is not a Python function name; use file.py:function_name")
        if self.name == "format":
            if not self.pattern:
                raise FieldError("pattern", "the format reward needs a regular expression, e.g. '<answer>.*?</answer>'")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise FieldError("pattern", f"not a regular expression: {exc}") from None
        elif self.pattern is not None:
            raise FieldError("pattern", "applies to the format reward only; remove it")
        if self.name == "length" and self.max_chars is None:
            raise FieldError("max_chars", "the length reward needs max_chars (completions longer than it lose reward)")
        if self.name != "length" and self.max_chars is not None:
            raise FieldError("max_chars", "applies to the length reward only; remove it")
        if self.label is not None and not _IDENT.match(self.label):
            raise FieldError("label", "use letters, digits and '_' only")
        return self

    @property
    def display(self) -> str:
        return self.label or self.name or str(self.function)

    @property
    def columns(self) -> list[str]:
        """The data columns this reward reads (user rewards: unknown, so none are required)."""
        return [self.column] if self.name in ("exact_match", "token_f1") else []


class SamplesSpec(Strict):
    """How often completions are written as ``samples`` events (the "what is it learning" view)."""

    every: int = Field(10, ge=0, description="Every this many steps (0: never).")
    count: int = Field(4, gt=0, le=64, description="Prompts/completions per event.")


class GRPORecipe(TrainableRecipe):
    kind: Literal["grpo"] = "grpo"
    rewards: list[RewardSpec] = Field(min_length=1, description="Reward functions, summed with their weights.")
    num_generations: int = Field(8, ge=2, description="Completions sampled per prompt (the group).")
    max_completion_length: int = Field(64, gt=0, description="Tokens generated per completion.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature.")
    beta: float = Field(0.04, ge=0, description="KL coefficient towards the starting model (0: no reference, no KL).")
    samples: SamplesSpec = Field(default_factory=SamplesSpec)
    from_run: str | None = Field(None, description="Start from this finished sft/dpo/grpo run (id, prefix or folder).")
    from_run_mode: Literal["merge", "stack"] = Field(
        "merge", description="merge: fold the run's adapter into the base and train a new one; stack: keep training it."
    )

    @field_validator("train")
    @classmethod
    def _train_fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if key in TOP_LEVEL:
                where = "each reward's `weight:`" if key == "reward_weights" else f"the top-level `{key}:`"
                raise FieldError(key, f"set it as {where} of the recipe, not under train:")
        return check_train_block(v, cls.kind_trl_config())

    @field_validator("from_run")
    @classmethod
    def _from_run_text(cls, v: str | None) -> str | None:
        return run_reference(v)

    @model_validator(mode="after")
    def _consistent(self) -> GRPORecipe:
        labels = self.reward_labels()
        if len(set(labels)) != len(labels):
            raise FieldError("rewards", "two rewards share a name; give one a `label:`")
        batch = self.train.get("per_device_train_batch_size", 8)
        accumulation = self.train.get("gradient_accumulation_steps", 1)
        if "generation_batch_size" not in self.train and "steps_per_generation" not in self.train:
            total = batch * accumulation  # per device; several devices only multiply it
            if isinstance(total, int) and total % self.num_generations:
                raise FieldError(
                    "num_generations",
                    f"{self.num_generations} does not divide the batch of {total} completions "
                    "(per_device_train_batch_size x gradient_accumulation_steps); each prompt's group must fit in it",
                )
        if self.evaluate is not None and not self.evaluate.get("data"):
            raise FieldError("evaluate", "GRPO's prompt rows hold no completions to compare with; set evaluate.data "
                              "to a held-out prompt/completion set (the demo's: ../data/reverse/eval.jsonl)")
        if self.from_run and self.from_run_mode == "stack" and not self.uses_peft:
            raise FieldError("from_run_mode", f"stack keeps training the run's adapter, which needs a PEFT method, "
                              f"not {self.method}; use from_run_mode: merge")
        return self

    def reward_labels(self) -> list[str]:
        return [r.display for r in self.rewards]

    def trl_args(self) -> dict[str, Any]:
        """The GRPOConfig fields set at the top level, merged over ``train:`` by the worker."""
        return {
            "beta": self.beta,
            "num_generations": self.num_generations,
            "max_completion_length": self.max_completion_length,
            "temperature": self.temperature,
            "reward_weights": [r.weight for r in self.rewards],
        }

    def resolve_files(self, base_dir: Path, source: str) -> None:
        """Data paths as for every kind, then the reward files: absolute, present, defining the function."""
        resolve_data_paths(self, base_dir, source)
        for i, spec in enumerate(self.rewards):
            if spec.path is not None:
                spec.path = check_reward_file(spec.path, str(spec.function), base_dir, f"{source}: rewards[{i}].function")
                spec.sha256 = hashlib.sha256(Path(spec.path).read_bytes()).hexdigest()


def check_reward_file(raw: str, function: str, base_dir: Path, where: str) -> str:
    """The reward file as an absolute path, refused (one line) when missing, not Python, or lacking ``function``.

    Parsed, not imported: the launching process (the TUI) must not run user code or load torch.
    """
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise RecipeError(f"{where}: no such reward file {raw!r} (relative paths are relative to the recipe's folder {base_dir})")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise RecipeError(f"{path}:{exc.lineno}: reward file does not parse: {exc.msg}; fix the syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{where}: cannot read reward file {path}: {exc}") from None
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    if function not in defined:
        found = ", ".join(sorted(n for n in defined if not n.startswith("_"))[:6]) or "none"
        raise RecipeError(f"{where}: {path} defines no function {function!r} (top-level functions: {found}); "
                          "fix the name after the ':'")
    return str(path.resolve())
