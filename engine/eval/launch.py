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
    shots: int = 0  # few-shot k for the base model (0: none)
    host: str | None = None
    models: list[str] = field(default_factory=list)  # merged/full model folders (tailor export --merge)

    @property
    def is_recipe(self) -> bool:
        return self.source.suffix in (".yaml", ".yml")


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


def datasets(ws: Workspace) -> list[Path]:
    """JSONL files under the workspace's data folder, held-out sets (``eval``/``test``) first."""
    found = sorted(ws.data_dir.rglob("*.jsonl")) if ws.data_dir.exists() else []
    found.sort(key=lambda p: (not any(k in p.stem for k in ("eval", "test", "valid")), str(p)))
    return found[:MAX_DATASETS]


def prepare(ws: Workspace, spec: EvalLaunch) -> tuple[Path, dict[str, Any]]:
    """(recipe path, overrides) to hand to ``Executor.launch``."""
    if spec.shots < 0:
        raise ValueError("few-shot k must be >= 0")
    if not spec.base and not spec.runs and not spec.models:
        raise ValueError("pick at least one model: the base model, a run or a merged model")
    overrides: dict[str, Any] = {"zero_shot": spec.base}
    if spec.is_recipe:
        if spec.runs:
            overrides["runs"] = list(spec.runs)
        if spec.models:
            overrides["adapters"] = list(spec.models)  # an adapters: entry may be a full model folder
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
        "few_shot": spec.shots,
    }
    folder = Path(tempfile.mkdtemp(prefix="tailor-eval-"))
    path = folder / f"{recipe['name']}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path
