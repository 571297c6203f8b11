"""What the Evals screen's launch form (and ``tailor eval --data``) starts: a recipe plus overrides.

Light (PyYAML, stdlib). The form offers the workspace's eval recipes and its JSONL datasets; for a
dataset an eval recipe is written to a temporary folder (the run keeps its own copy), with the base
model of the first chosen run (``tailor/tiny`` without one).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailor.engine.workspace import Workspace

MAX_DATASETS = 60


@dataclass
class EvalLaunch:
    source: Path  # an eval recipe (.yaml) or a dataset (.jsonl)
    runs: list[str] = field(default_factory=list)  # run ids (trials are runs too)
    base: bool = True  # the base model zero-shot
    shots: int | None = 0  # few-shot k for the base model (0: none; None: the recipe's own)
    host: str | None = None
    models: list[str] = field(default_factory=list)  # merged/full model folders (tailor export --merge)
    recipe_models: bool = False  # a recipe's models kept as written (runs, adapters, trials, zero_shot)

    @property
    def is_recipe(self) -> bool:
        return self.source.suffix in (".yaml", ".yml")


@dataclass(frozen=True)
class RecipeDefaults:
    """What an eval recipe evaluates when nothing is overridden, as the launch form shows it."""

    shots: int | None  # few_shot.k (None: the recipe does not parse)
    base: bool  # zero_shot
    refs: list[str]  # the models it names, as model_choices refs (runs resolved to ids, adapters as model:PATH)


def eval_recipes(ws: Workspace) -> list[Path]:
    """The workspace's recipes with ``kind: eval`` (a quick look at the key, no validation)."""
    from tailor.engine.recipes.yamlio import load_yaml

    out = []
    for path in ws.recipes():
        try:
            data = load_yaml(path.read_text(encoding="utf-8-sig"))
        except Exception:  # unreadable recipes are simply not offered
            continue
        if isinstance(data, dict) and data.get("kind") == "eval":
            out.append(path)
    return out


def recipe_defaults(ws: Workspace, path: Path) -> RecipeDefaults:
    """The few-shot k, zero-shot and models ``path`` (an eval recipe) evaluates as written.

    ``latest:NAME`` resolves to the run it names today; a reference that finds no run is left out.
    """
    from tailor.engine.recipes.load import parse_recipe
    from tailor.engine.runs.lookup import find_run, is_latest, latest_run

    try:
        recipe = parse_recipe(path.read_text(encoding="utf-8-sig"), source=str(path), check_files=False)
    except Exception:  # a broken recipe: the form shows no defaults, the launch reports the error
        return RecipeDefaults(None, True, [])
    refs: list[str] = []
    for ref in getattr(recipe, "runs", []):
        try:
            run = latest_run(ws, ref) if is_latest(ref) else find_run(ws, ref, path.parent)
        except Exception:  # a run deleted since: nothing to tick
            run = None
        if run is not None:
            refs.append(run.run_id)
    for folder in getattr(recipe, "adapters", []):
        refs.append(f"model:{(path.parent / Path(folder).expanduser()).resolve()}")
    few_shot = getattr(recipe, "few_shot", None)
    return RecipeDefaults(few_shot.k if few_shot is not None else 0, bool(getattr(recipe, "zero_shot", True)), refs)


def datasets(ws: Workspace) -> list[Path]:
    """JSONL files under the workspace's data folder, held-out sets (``eval``/``test``) first."""
    found = sorted(ws.data_dir.rglob("*.jsonl")) if ws.data_dir.exists() else []
    found.sort(key=lambda p: (not any(k in p.stem for k in ("eval", "test", "valid")), str(p)))
    return found[:MAX_DATASETS]


def prepare(ws: Workspace, spec: EvalLaunch) -> tuple[Path, dict[str, Any]]:
    """(recipe path, overrides) to hand to ``Executor.launch``."""
    if spec.shots is not None and spec.shots < 0:
        raise ValueError("few-shot k must be >= 0")
    if not spec.recipe_models and not spec.base and not spec.runs and not spec.models:
        raise ValueError("pick at least one model: the base model, a run or a merged model")
    if spec.is_recipe:
        # Only what the user changed is overridden: the frozen recipe keeps every other value as written.
        overrides: dict[str, Any] = {}
        if not spec.recipe_models:  # exactly the ticked models
            overrides.update(zero_shot=spec.base, runs=list(spec.runs), trials=[])
            overrides["adapters"] = list(spec.models)  # an adapters: entry may be a full model folder
        if spec.shots is not None:
            overrides["few_shot.k"] = spec.shots
        return spec.source, overrides
    return _dataset_recipe(ws, spec), {}


def _dataset_recipe(ws: Workspace, spec: EvalLaunch) -> Path:
    import yaml

    model: Any = "tailor/tiny"
    if spec.runs:
        from tailor.engine.runs.lookup import find_run, run_recipe

        model = run_recipe(find_run(ws, spec.runs[0])).model.model_dump(exclude_defaults=True) or model
    elif spec.models:  # merged models only: the base they were merged from (the exports record says)
        from tailor.engine.runs.exports import exported_models

        bases = {e["path"]: e.get("base_model") for e in exported_models(ws)}
        model = bases.get(str(Path(spec.models[0]).resolve())) or model
    recipe: dict[str, Any] = {
        "kind": "eval",
        "name": f"eval-{spec.source.parent.name or spec.source.stem}",
        "model": model,
        "data": str(spec.source.resolve()),
        "runs": [str((ws.runs_dir / r).resolve()) for r in spec.runs],
        "adapters": list(spec.models),
        "zero_shot": spec.base,
        "few_shot": spec.shots or 0,
    }
    folder = Path(tempfile.mkdtemp(prefix="tailor-eval-"))
    path = folder / f"{recipe['name']}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path
