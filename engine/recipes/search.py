"""``kind: search`` — an Optuna study over a wrapped sft/dpo recipe (see docs/search.md).

A search recipe names a base recipe (a path or an inline mapping), a ``space`` of parameters, the
objective, the budget (``n_trials`` and/or ``timeout``), sampler, pruner and storage. Everything is
checked here, before anything starts: every range bound and choice is applied to the base recipe and
validated as a real recipe, so ``r: [0, 8]`` or ``learning_rate: {low: -1}`` fail with the field path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_serializer, model_validator

from tailor.engine import kinds
from tailor.engine.errors import RecipeError
from tailor.engine.recipes import search_params as P
from tailor.engine.recipes.common import Recipe, Strict, check_train_block, suggest
from tailor.engine.recipes.load import describe_error, line_index, load_recipe, resolve_paths
from tailor.engine.recipes.storage_url import check_storage_url
from tailor.engine.recipes.trainable import NAME_RE, TrainableRecipe


def base_model(kind: str) -> type[TrainableRecipe]:
    """The recipe model of a kind a search may wrap (engine.kinds: ``searchable``)."""
    return kinds.get(kind).recipe_model()  # type: ignore[return-value]


class SpecError(ValueError):
    """A problem at a nested path; load.py appends ``key`` (a tuple of parts) to the error location."""

    def __init__(self, key: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.key = key


class ParamSpec(Strict):
    """One searched (or fixed, or tied) parameter.

    Shorthands: ``[8, 16, 32]`` (choices), ``0.05`` (a fixed value), ``"2*r"`` (tied to r),
    nothing at all (the literature default for that parameter).
    """

    type: Literal["float", "int", "categorical"] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(None, gt=0)
    choices: list[Any] | None = None
    value: Any = Field(None, description="A fixed value (not searched).")
    tie: str | None = Field(None, description="Another parameter this one follows: value = scale * that.")
    scale: float = Field(1.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, list):
            return {"choices": value}
        if isinstance(value, dict):
            return value
        return {"value": value}

    @field_validator("choices")
    @classmethod
    def _choices(cls, v: list[Any] | None) -> list[Any] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("choices is empty; list at least one value")
        v = [P.coerce_number(c) for c in v]
        if any(isinstance(c, dict | list) for c in v):
            raise ValueError("choices must be plain values (numbers, strings, booleans, null)")
        if len({repr(c) for c in v}) != len(v):
            raise ValueError("choices has duplicates")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        modes = [m for m, on in self._modes().items() if on]
        if len(modes) > 1:
            raise ValueError(f"give only one of choices, low/high, value or tie (got {' and '.join(modes)})")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be less than high ({self.high:g})")
        if self.log and self.low is not None and self.low <= 0:
            raise ValueError(f"a log scale needs low > 0 (got {self.low:g})")
        if self.log and self.step is not None:
            raise ValueError("step cannot be used with log: true (Optuna samples log ranges continuously)")
        if self.type == "categorical" and self.choices is None and "choices" in modes:
            raise ValueError("type categorical needs choices")
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> dict[str, Any]:
        """Only what was given or filled in, so the frozen recipe reads back the same (and reads well)."""
        out = handler(self)
        keep = {k: v for k, v in out.items() if v is not None}
        if not self.log:
            keep.pop("log", None)
        if self.tie is None:
            keep.pop("scale", None)
        if self.mode == "fixed":
            keep["value"] = out.get("value")
        return keep

    def _modes(self) -> dict[str, bool]:
        return {
            "choices": self.choices is not None,
            "low/high": self.low is not None or self.high is not None,
            "value": "value" in self.model_fields_set,
            "tie": self.tie is not None,
        }

    @property
    def mode(self) -> str:
        """``categorical``, ``range``, ``fixed``, ``tied`` or ``default`` (nothing given yet)."""
        m = self._modes()
        if m["choices"]:
            return "categorical"
        if m["low/high"]:
            return "range"
        if m["value"]:
            return "fixed"
        if m["tie"]:
            return "tied"
        return "default"

    @property
    def searched(self) -> bool:
        return self.mode in ("categorical", "range")


class SamplerSpec(Strict):
    type: Literal["tpe", "random", "grid"] = "tpe"
    seed: int | None = Field(None, description="Default: the search recipe's seed.")
    n_startup_trials: int | None = Field(None, ge=0, description="TPE: random trials first (Optuna: 10).")
    multivariate: bool = False
    constant_liar: bool | None = Field(None, description="TPE with parallel workers; default on when workers > 1.")

    _short = model_validator(mode="before")(lambda cls, v: {"type": v} if isinstance(v, str) else v)


class PrunerSpec(Strict):
    # successive_halving by default: it beat median on bench/search.py (39.1% of the unpruned steps at a 0.00%
    # gap against 46.1% at +3.43%, eval every 5; 36.2% at +0.00% with its first cut at a tenth of the trial's
    # steps, the default cadence; docs/search.md "Efficiency").
    type: Literal["median", "hyperband", "successive_halving", "none"] = "successive_halving"
    n_startup_trials: int = Field(5, ge=0, description="median: never prune before this many trials finish.")
    n_warmup_steps: int = Field(0, ge=0, description="median: never prune before this training step.")
    interval_steps: int = Field(1, gt=0)
    min_resource: int | None = Field(
        None, gt=0, description="hyperband, successive_halving: steps before the first cut (default: eval_steps).")
    max_resource: int | None = Field(None, gt=0, description="hyperband: default 'auto'.")
    reduction_factor: int = Field(3, ge=2, description="hyperband, successive_halving: 1 in N goes on at each cut.")

    _short = model_validator(mode="before")(lambda cls, v: {"type": v} if isinstance(v, str) else v)


class StorageSpec(Strict):
    url: str | None = Field(
        None,
        description="sqlite:///path.db, an RDB URL, or journal:PATH; default: the workspace's studies.db. "
        "$VARS are expanded when the study is opened (keep passwords in the environment).",
    )
    heartbeat_interval: int = Field(10, gt=0, description="Seconds between trial heartbeats.")
    grace_period: int | None = Field(None, gt=0, description="A running trial this long without a heartbeat is failed.")
    max_retry: int = Field(2, ge=0, description="How often a trial whose worker died is retried.")

    _short = model_validator(mode="before")(lambda cls, v: {"url": v} if isinstance(v, str) else ({} if v is None else v))

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            check_storage_url(v)
        return v


def parse_bytes(value: Any) -> float | None:
    """Bytes from ``16GiB``, ``500MB``, ``1.5g`` or a number of bytes (binary units: 1 GB = 1 GiB)."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
    units = {"": 0, "b": 0, "k": 1, "kb": 1, "kib": 1, "m": 2, "mb": 2, "mib": 2, "g": 3, "gb": 3, "gib": 3,
             "t": 4, "tb": 4, "tib": 4}
    if not m or m.group(2).lower() not in units:
        raise ValueError(f"use bytes or a size such as 16GiB, 500MiB (got {value!r})")
    return float(m.group(1)) * 1024 ** units[m.group(2).lower()]


def parse_duration(value: Any) -> float | None:
    """Seconds from ``3600``, ``"90s"``, ``"30m"``, ``"2h"`` or ``"1h30m"``."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?", text)
    if not text or not m or not any(m.groups()):
        raise ValueError(f"use seconds or a duration such as 90s, 30m, 2h, 1h30m (got {value!r})")
    h, mnt, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mnt * 60 + s


class SearchRecipe(Recipe):
    kind: Literal["search"] = "search"
    name: str | None = Field(None, description="Also the default study name.")
    description: str | None = None
    seed: int = Field(42, description="Seeds the sampler (trials keep the base recipe's seed).")
    base: dict[str, Any] | str = Field(description="The sft/dpo recipe to tune: a path or an inline mapping.")
    space: dict[str, ParamSpec] = Field(default_factory=dict)
    objective: str = Field("eval_loss", description="An eval metric reported during training.")
    direction: Literal["minimize", "maximize"] | None = Field(None, description="Default: minimize for losses.")
    n_trials: int | None = Field(None, gt=0, description="Finished trials in the study (kept across restarts).")
    timeout: float | None = Field(None, gt=0, description="Seconds (or 30m, 2h) for this session of the search.")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    pruner: PrunerSpec = Field(default_factory=PrunerSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    study_name: str | None = Field(None, description="Default: the recipe's name, else the file name.")
    workers: int = Field(1, ge=1, description="Worker processes sharing the study on this machine.")
    eval_steps: int | None = Field(
        None, gt=0, description="Evaluate (and report to the pruner) every N steps (default: a tenth of max_steps).")
    trial_train: dict[str, Any] = Field(
        default_factory=dict, description="train fields for trials only (e.g. a shorter max_steps)."
    )
    second_objective: Literal["peak_memory", "wall_time"] | None = Field(
        None, description="Also minimize each trial's peak memory (GiB) or wall time (s): a multi-objective study "
        "whose Pareto front `tailor search status` and the Search screen show. Optuna prunes only single-objective "
        "studies, so its trials are pruned before they start (memory) but not while they train.")
    memory_budget: float | None = Field(
        None, gt=0, description="Bytes (or 16GiB, 500MiB) a trial may use: on a CPU host the only limit; "
        "on a GPU at most this much of its free memory. A trial estimated above it is pruned unlaunched.")

    _base: TrainableRecipe | None = PrivateAttr(None)

    _timeout = field_validator("timeout", mode="before")(lambda cls, v: parse_duration(v))
    _budget = field_validator("memory_budget", mode="before")(lambda cls, v: parse_bytes(v))

    @field_validator("name", "study_name")
    @classmethod
    def _safe_name(cls, v: str | None) -> str | None:
        if v is not None and not NAME_RE.match(v):
            raise ValueError("use letters, digits, '.', '_' and '-' only (at most 64), starting with a letter or digit")
        return v

    @model_validator(mode="before")
    @classmethod
    def _ties(cls, data: Any) -> Any:
        """``lora_alpha: 2*r`` is a tie when ``r`` names a parameter; any other string is a fixed value."""
        if isinstance(data, dict) and isinstance(data.get("space"), dict):
            space = dict(data["space"])
            names = set(space) | set(P.ALIASES)
            for key, spec in space.items():
                if isinstance(spec, str):
                    tie = P.parse_tie(spec, names - {key})
                    if tie:
                        space[key] = {"tie": tie[0], "scale": tie[1]}
            data = {**data, "space": space}
        return data

    @model_validator(mode="after")
    def _check(self) -> SearchRecipe:
        if self.n_trials is None and self.timeout is None and self.sampler.type != "grid":
            raise SpecError(("n_trials",), "a search needs an end: set n_trials (e.g. 20) and/or timeout (e.g. 2h)")
        if self.direction is None:
            lossy = any(w in self.objective.lower() for w in ("loss", "perplexity", "ppl", "error"))
            self.direction = "minimize" if lossy else "maximize"
        if self.study_name is None:
            self.study_name = self.name
        if isinstance(self.base, dict):
            self._base = _validate_base(self.base)
            self.base = self._base.model_dump(mode="json")
            self._check_against_base(self._base)
        elif not self.space:
            raise SpecError(("space",), _EMPTY)
        return self

    # -- cross-checks that need the base recipe ---------------------------------------------------
    def _check_against_base(self, base: TrainableRecipe) -> None:
        config_class = P.config_class_of(base)
        searched = [k for k, s in self.space.items() if s.searched or s.mode == "default"]
        if not searched:
            raise SpecError(("space",), _EMPTY)
        for name, spec in self.space.items():
            target = P.target_of(name, base)
            if target is None:
                hint = suggest(name, P.known_names(base))
                tip = f"did you mean '{hint}'? " if hint else ""
                raise SpecError(
                    ("space", name),
                    f"unknown parameter; {tip}use r, learning_rate, lora_alpha, lora_dropout, epochs, batch_size, "
                    f"any LoRA field, any {config_class} field, a top-level {base.kind} field, "
                    "or a dotted recipe path such as model.name_or_path",
                )
            if spec.mode == "default":
                filled = P.default_spec(target, base.kind)
                if filled is None:
                    raise SpecError(("space", name), "no default range for this parameter; give low/high or choices")
                self.space[name] = spec = ParamSpec.model_validate({**spec.model_dump(exclude_unset=True), **filled})
            self._check_type(name, spec, target, base)
        for name, spec in self.space.items():
            if spec.mode == "tied":
                self._check_tie(name, spec, base)
        self._check_values(base)
        if self.trial_train:
            try:
                check_train_block(self.trial_train, config_class)
            except ValueError as exc:
                raise SpecError(("trial_train", getattr(exc, "key", "")), str(exc)) from None
        if self.sampler.type == "grid":
            for name, spec in self.space.items():
                if spec.mode == "range" and (spec.type == "float" and spec.step is None):
                    raise SpecError(("space", name), "the grid sampler needs choices or a step for a float range")
        if self.objective.startswith("eval_") and not (base.data.eval or base.data.eval_split):
            raise SpecError(
                ("objective",),
                f"{self.objective} needs an eval set in the base recipe: set base data.eval or data.eval_split",
            )

    def _check_type(self, name: str, spec: ParamSpec, target: str, base: TrainableRecipe) -> None:
        if spec.mode != "range":
            return
        kind = P.value_type(target, base)
        if spec.type is None:
            if kind in (int, float):
                spec.type = "int" if kind is int else "float"
            else:
                whole = all(float(v).is_integer() for v in (spec.low, spec.high) if v is not None)
                spec.type = "int" if whole and spec.step in (None, 1) and not spec.log else "float"
        if spec.type == "categorical":
            raise SpecError(("space", name), "type categorical needs choices, not low/high")
        if kind in (bool, str):
            raise SpecError(("space", name), f"{target} is a {kind.__name__}: give choices, not a range")
        if spec.low is None or spec.high is None:
            raise SpecError(("space", name), "a range needs both low and high")
        if spec.type == "int":
            for bound in ("low", "high", "step"):
                v = getattr(spec, bound)
                if v is not None and not float(v).is_integer():
                    raise SpecError(("space", name, bound), f"{target} is an integer: use a whole number (got {v:g})")
        if kind is int and spec.type == "float":
            raise SpecError(("space", name, "type"), f"{target} is an integer: use type int or choices")

    def _check_tie(self, name: str, spec: ParamSpec, base: TrainableRecipe) -> None:
        other = self.space.get(spec.tie or "")
        if other is not None and other.mode == "tied":
            raise SpecError(("space", name, "tie"), f"{spec.tie} is itself tied; tie to a searched parameter")
        if other is None and P.target_of(spec.tie or "", base) is None:
            raise SpecError(("space", name, "tie"), f"unknown parameter {spec.tie!r} to tie to")

    def _check_values(self, base: TrainableRecipe) -> None:
        """Apply each bound, choice and fixed value to the base recipe and validate it as a recipe."""
        base_data = base.model_dump(mode="json")
        for name, spec in self.space.items():
            target = P.target_of(name, base) or name
            candidates: list[tuple[str, Any]] = []
            if spec.mode == "range":
                candidates = [("low", _cast(spec.low, spec.type)), ("high", _cast(spec.high, spec.type))]
            elif spec.mode == "categorical":
                candidates = [("choices", c) for c in spec.choices or []]
            elif spec.mode == "fixed":
                candidates = [("value", spec.value)]
            for field, value in candidates:
                trial = _copy(base_data)
                P.set_path(trial, target, value)
                try:
                    base_model(base.kind).model_validate(trial)
                except ValidationError as exc:
                    problem = _nested_problem(exc, base_model(base.kind))[1]
                    raise SpecError(("space", name, field), f"{value!r} is not valid for {target}: {problem}") from None

    # -- file references (called by load.resolve_paths) -------------------------------------------
    def resolve_files(self, base_dir: Path, source: str) -> None:
        """Inline a base recipe given as a path, make its data paths absolute, default the study name."""
        if self.study_name is None:
            stem = Path(source.split(" (")[0]).stem
            self.study_name = stem if NAME_RE.match(stem) else "search"
        if isinstance(self.base, str):
            path = _base_path(self.base, base_dir, source)
            base = load_recipe(path)
            if base.kind not in kinds.searchable():
                raise RecipeError(
                    f"{source}: base: {path} is a {base.kind} recipe; a search wraps an {kinds.either(kinds.searchable())} recipe"
                )
            data = {**self.model_dump(mode="json", exclude_unset=True), "base": base.model_dump(mode="json")}
            data["study_name"] = self.study_name
            try:
                checked = SearchRecipe.model_validate(data)
            except ValidationError as exc:
                try:
                    lines = line_index(Path(source).read_text(encoding="utf-8-sig"))
                except OSError:
                    lines = {}
                raise RecipeError(describe_error(exc, SearchRecipe, source, lines)) from None
            for field in type(self).model_fields:
                setattr(self, field, getattr(checked, field))
            self._base = checked._base
        else:
            assert self._base is not None
            resolve_paths(self._base, base_dir, f"{source}: base")
            self.base = self._base.model_dump(mode="json")

    @property
    def base_recipe(self) -> TrainableRecipe:
        if self._base is None:
            raise RecipeError(f"base recipe {self.base!r} is not resolved; load the search recipe from its file")
        return self._base

    @property
    def searched_names(self) -> list[str]:
        return [k for k, s in self.space.items() if s.searched]


_EMPTY = "nothing to search: add parameters, e.g. r: [8, 16, 32] and learning_rate: {low: 1.0e-5, high: 1.0e-3, log: true}"


def _validate_base(data: dict[str, Any]) -> TrainableRecipe:
    kind = data.get("kind")
    if kind not in kinds.searchable():
        got = "missing" if kind is None else repr(kind)
        wraps = kinds.either(kinds.searchable())
        raise SpecError(("base", "kind"), f"a search wraps an {wraps} recipe (kind is {got})")
    model = base_model(kind)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        path, problem = _nested_problem(exc, model)
        raise SpecError(("base", *path), problem) from None


def _nested_problem(exc: ValidationError, model: type) -> tuple[tuple[str, ...], str]:
    """(path parts, message) of a nested recipe's first error, worded by load.py."""
    text = describe_error(exc, model, "", {})  # ": path: problem" (no source, no lines)
    text = text.removeprefix(": ")
    path, sep, problem = text.partition(": ")
    if not sep:
        return (), text
    return tuple(re.findall(r"[^.\[\]]+", path)), problem


def _base_path(raw: str, base_dir: Path, source: str) -> Path:
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else base_dir / path
    for candidate in (path, path.with_name(path.name + ".yaml")):
        if candidate.is_file():
            return candidate.resolve()
    raise RecipeError(f"{source}: base: no such recipe file {raw!r} (relative to the search recipe's folder {base_dir})")


def _cast(value: float | None, kind: str | None) -> Any:
    return int(value) if kind == "int" and value is not None else value


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(data)
