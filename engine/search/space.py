"""From a search recipe's space to Optuna distributions, and from a trial's parameters to a trial recipe."""

from __future__ import annotations

import copy
import math
from typing import Any

from tailor.engine.recipes import search_params as P
from tailor.engine.recipes.search import ParamSpec, SearchRecipe, base_model
from tailor.engine.search import SearchError

DEFAULT_EVAL_STEPS = 10


def suggest(trial: Any, recipe: SearchRecipe) -> dict[str, Any]:
    """Ask the trial for every searched parameter; add fixed and tied ones. Returns {name: value}."""
    values: dict[str, Any] = {}
    for name, spec in recipe.space.items():
        if spec.mode == "categorical":
            values[name] = trial.suggest_categorical(name, spec.choices)
        elif spec.mode == "range":
            values[name] = _suggest_range(trial, name, spec)
        elif spec.mode == "fixed":
            values[name] = spec.value
    values.update(derived(values, recipe))
    return values


def _suggest_range(trial: Any, name: str, spec: ParamSpec) -> Any:
    assert spec.low is not None and spec.high is not None
    if spec.type == "int":
        step = int(spec.step or 1)
        return trial.suggest_int(name, int(spec.low), int(spec.high), step=step, log=spec.log)
    return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)


def derived(values: dict[str, Any], recipe: SearchRecipe) -> dict[str, Any]:
    """Fixed and tied parameters for the given searched values (``lora_alpha = 2 * r``)."""
    base = recipe.base_recipe
    base_data = base.model_dump(mode="json")
    out: dict[str, Any] = {}
    for name, spec in recipe.space.items():
        if spec.mode == "fixed":
            out[name] = spec.value
        elif spec.mode == "tied":
            source = spec.tie or ""
            if source in values:
                other = values[source]
            else:
                other = P.get_path(base_data, P.target_of(source, base) or source)
            if not isinstance(other, int | float) or isinstance(other, bool):
                raise SearchError(f"space.{name}: cannot tie to {source} = {other!r} (not a number)")
            value = spec.scale * other
            target = P.target_of(name, base) or name
            out[name] = int(round(value)) if P.value_type(target, base) is int else float(value)
    return out


def trial_recipe_data(recipe: SearchRecipe, values: dict[str, Any], *, name: str) -> dict[str, Any]:
    """The base recipe with the trial's parameters applied, plus the trial-only training settings."""
    data = promoted_recipe_data(recipe, values, name=name)
    train = data.setdefault("train", {})
    train.update(copy.deepcopy(recipe.trial_train))
    has_eval = bool(recipe.base_recipe.data.eval or recipe.base_recipe.data.eval_split)
    if has_eval:
        # Intermediate values feed the pruner: evaluate on a step schedule.
        if train.get("eval_strategy", "steps") == "no":
            train["eval_strategy"] = "steps"
        train.setdefault("eval_strategy", "steps")
        if recipe.eval_steps or (train["eval_strategy"] == "steps" and not train.get("eval_steps")):
            train["eval_steps"] = trial_eval_steps(recipe, train)
    if "save_strategy" not in train and not train.get("load_best_model_at_end"):
        train["save_strategy"] = "no"  # a trial is never resumed: checkpoints would only cost time and disk
    return data


def trial_eval_steps(recipe: SearchRecipe, train: dict[str, Any] | None = None) -> int:
    """How often a trial evaluates (and reports to the pruner), which is also where successive halving and
    Hyperband make their first cut (``min_resource``): the recipe's ``eval_steps``, else the trial's own
    train setting (``trial_train``, then the base's), else a tenth of the trial's ``max_steps``, else its
    logging cadence or 10. A tenth: the earliest first cut that stayed within 1% of the unpruned best on all
    three sampler seeds of bench/search.py measured (earlier, good learning rates still look alike; docs/search.md)."""
    if recipe.eval_steps:
        return recipe.eval_steps
    if train is None:
        train = {**recipe.base_recipe.train, **recipe.trial_train}
    max_steps = train.get("max_steps")
    max_steps = max_steps if isinstance(max_steps, int) and max_steps > 0 else None
    own = train.get("eval_steps")
    if isinstance(own, int | float) and own >= 1:
        return int(own)
    if isinstance(own, float) and own > 0 and max_steps:  # TRL: a float below 1 is a fraction of the steps
        return max(1, math.ceil(own * max_steps))
    if max_steps:
        return max(1, max_steps // 10)
    return int(train.get("logging_steps") or DEFAULT_EVAL_STEPS)


def promoted_recipe_data(recipe: SearchRecipe, values: dict[str, Any], *, name: str | None) -> dict[str, Any]:
    """The base recipe with ``values`` applied: what a full training run with these parameters trains."""
    base = recipe.base_recipe
    data = base.model_dump(mode="json")
    for key, value in values.items():
        target = P.target_of(key, base)
        if target is None:
            raise SearchError(f"parameter {key!r} is not in the space of study {recipe.study_name}")
        P.set_path(data, target, value)
    if name is not None:
        data["name"] = name
    return data


def validate_trial_recipe(recipe: SearchRecipe, data: dict[str, Any]) -> Any:
    """The trial recipe as a validated sft/dpo model (a combination that does not validate fails the trial)."""
    from pydantic import ValidationError

    from tailor.engine.recipes.load import describe_error

    model = base_model(recipe.base_recipe.kind)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SearchError(f"trial recipe does not validate: {describe_error(exc, model, '', {}).removeprefix(': ')}") from None


def grid_space(recipe: SearchRecipe) -> dict[str, list[Any]]:
    """Every value of every searched parameter, for Optuna's GridSampler."""
    out: dict[str, list[Any]] = {}
    for name, spec in recipe.space.items():
        if spec.mode == "categorical":
            out[name] = list(spec.choices or [])
        elif spec.mode == "range":
            assert spec.low is not None and spec.high is not None
            step = spec.step or 1
            count = int(round((spec.high - spec.low) / step)) + 1
            points = [spec.low + i * step for i in range(count) if spec.low + i * step <= spec.high + 1e-12]
            out[name] = [int(v) for v in points] if spec.type == "int" else [round(v, 12) for v in points]
    return out


def check_enqueue(recipe_space: dict[str, ParamSpec], params: dict[str, Any]) -> dict[str, Any]:
    """Check hand-picked parameters against the study's space; returns them coerced to the right types."""
    searched = {k: s for k, s in recipe_space.items() if s.searched}
    out: dict[str, Any] = {}
    for key, raw in params.items():
        spec = searched.get(key)
        if spec is None:
            names = ", ".join(searched) or "none"
            raise SearchError(f"parameter {key!r} is not searched in this study (searched: {names})")
        value = P.coerce_number(raw)
        if spec.mode == "categorical":
            match = [c for c in spec.choices or [] if c == value or str(c) == str(raw)]
            if not match:
                raise SearchError(f"{key}={raw} is not one of the choices {spec.choices}")
            value = match[0]
        else:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise SearchError(f"{key}={raw}: expected a number")
            assert spec.low is not None and spec.high is not None
            if not spec.low <= value <= spec.high:
                raise SearchError(f"{key}={raw} is outside the range {spec.low:g}..{spec.high:g}")
            if spec.type == "int":
                if not float(value).is_integer():
                    raise SearchError(f"{key}={raw}: expected a whole number")
                value = int(value)
            else:
                value = float(value)
        out[key] = value
    return out
