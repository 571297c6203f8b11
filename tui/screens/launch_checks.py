"""The launch form's logic, without widgets: recipe fields, typed overrides, the effective recipe, the fit
estimate against a target's free GPU memory, and the lists the pickers show (hosts, runs to start from).

Everything here runs on the engine thread or in a thread worker of tui/screens/launch.py; light (no ML
imports).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from tailor.engine.api import kinds

if TYPE_CHECKING:
    from tailor.engine.api.hosts import Probe
    from tailor.engine.api.launch import FitEstimate
    from tailor.engine.api.runs import Status

#: form field -> (recipe override path, label, type)
FIELDS: dict[str, tuple[str, str, type]] = {
    "model": ("model.name_or_path", "Model", str),
    "dataset": ("data.train", "Dataset", str),
    "r": ("lora.r", "LoRA r", int),
    "learning_rate": ("train.learning_rate", "Learning rate", float),
    "epochs": ("train.num_train_epochs", "Epochs", float),
}
FIT_FIELDS = ("model", "r")  # the overrides that change the memory estimate
GIB = 1024**3


@dataclass
class LaunchRequest:
    """What the form launches: ``tailor run RECIPE -s KEY=VALUE... --host HOST``."""

    recipe: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    host: str | None = None

    def cli(self) -> str:
        """The CLI twin of this launch (shown in the preview)."""
        import shlex

        parts = ["tailor", "run", self.recipe.stem]
        for key, value in self.overrides.items():
            parts += ["-s", f"{key}={value}"]
        if self.host and self.host != "local":
            parts += ["--host", self.host]
        return shlex.join(parts)


@dataclass
class RecipeInfo:
    """The fields the form shows for one recipe (or the one-line error reading it)."""

    path: Path
    kind: str = ""
    values: dict[str, str] = field(default_factory=dict)
    error: str = ""
    chains: bool = False  # the recipe may start from another run (``from_run``): the form offers a picker
    from_run: str | None = None  # the recipe's own from_run
    from_run_mode: str = "merge"  # the recipe's own from_run_mode (merge | stack)


def raw_data_paths(path: Path) -> list[str]:
    """``data.train`` as the recipe file writes it (relative paths stay relative to the recipe)."""
    from tailor.engine.api.recipes import load_yaml

    data = load_yaml(path.read_text(encoding="utf-8-sig"))
    train = (data.get("data") or {}).get("train") if isinstance(data, dict) else None
    items = train if isinstance(train, list) else [train] if train else []
    return [str(i.get("path", "?")) if isinstance(i, dict) else str(i) for i in items]


def effective_recipe(path: Path, overrides: dict[str, Any]) -> str:
    """The recipe the run will get: the base file with the overrides applied, as YAML."""
    import yaml

    from tailor.engine.api.recipes import apply_overrides, load_yaml

    data = apply_overrides(load_yaml(path.read_text(encoding="utf-8-sig")), dict(overrides))
    head = f"# {path}" + ("".join(f"\n#   override {k} = {v!r}" for k, v in overrides.items()) or "\n#   no overrides")
    return head + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def read_recipe(path: Path) -> RecipeInfo:
    """The form's view of a recipe (runs on the engine thread: it validates the file)."""
    from tailor.engine.api.errors import TailorError
    from tailor.engine.api.recipes import TrainableRecipe, load_recipe

    try:
        recipe = load_recipe(path, check_files=False)
    except TailorError as exc:
        return RecipeInfo(path, error=str(exc))
    values: dict[str, str] = {}
    if recipe.kind in kinds.trainable() and isinstance(recipe, TrainableRecipe):
        train = recipe.train
        values = {
            "model": recipe.model.name_or_path,
            "dataset": ", ".join(raw_data_paths(path)),
            "r": str(recipe.lora.r),
            "learning_rate": str(train.get("learning_rate", "default")),
            "epochs": str(train.get("num_train_epochs", "default"))
            + (f" (max_steps {train['max_steps']} takes precedence)" if train.get("max_steps") else ""),
        }
    chains = recipe.kind in kinds.chainable() and "from_run" in kinds.get(recipe.kind).recipe_model().model_fields
    return RecipeInfo(path, kind=recipe.kind, values=values, chains=chains, from_run=getattr(recipe, "from_run", None),
                      from_run_mode=getattr(recipe, "from_run_mode", "merge"))


def parse_overrides(raw: dict[str, str]) -> dict[str, Any]:
    """Typed overrides from the non-empty form fields; ValueError names the field."""
    overrides: dict[str, Any] = {}
    for name, text in raw.items():
        text = text.strip()
        if not text:
            continue
        key, label, kind = FIELDS[name]
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{label}: {text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if kind is not str and value <= 0:
            raise ValueError(f"{label}: must be greater than 0")
        overrides[key] = value
    return overrides


# -- fit check ------------------------------------------------------------------------------------


@dataclass
class GpuBudget:
    """Free memory of the launch target's GPUs (MiB each); ``cpu``: it has none, training runs on CPU."""

    where: str
    free_mib: list[int] | None = None  # None: not known
    cpu: bool = False


def fit_estimate(path: Path, overrides: dict[str, Any]) -> tuple[str, FitEstimate | None, int]:
    """(kind, FitEstimate, GPUs wanted) for a recipe file with overrides; light: no ML imports."""
    from tailor.engine.api.launch import estimate_recipe
    from tailor.engine.api.recipes import apply_overrides, load_recipe, load_yaml, parse_recipe

    recipe = load_recipe(path, check_files=False)
    if not hasattr(recipe, "method") and not hasattr(recipe, "base"):  # eval: nothing is trained
        return recipe.kind, None, 0
    if overrides:  # files are not checked: the estimate needs the model only
        data = apply_overrides(load_yaml(path.read_text(encoding="utf-8-sig")), dict(overrides))
        recipe = parse_recipe(data, source=f"{path} (with overrides)", base_dir=path.parent, check_files=False)
    resources = getattr(recipe, "resources", None)
    return recipe.kind, estimate_recipe(recipe), int(getattr(resources, "gpus", 1) or 0)


def local_gpu_budget() -> GpuBudget:
    """This machine's GPUs from ``nvidia-smi`` (none on PATH, or no GPU listed: CPU)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return GpuBudget("local", cpu=True)
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=15, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return GpuBudget("local")  # unknown: show the estimate alone
    free = [int(float(x)) for x in out.stdout.split() if x.replace(".", "", 1).isdigit()]
    if out.returncode != 0 or not out.stdout.strip():
        return GpuBudget("local", cpu=True)  # no driver / no GPU: the worker trains on CPU
    if not free:
        return GpuBudget("local")  # "[N/A]" (e.g. MIG): free memory unknown
    return GpuBudget("local GPU" if len(free) == 1 else f"local {len(free)} GPUs", free)


def _count(n: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def estimate_text(result: FitEstimated) -> str:
    """The estimate line: the estimate's own description plus the trainable parameter count."""
    est = result.estimate
    if result.error:
        return f"estimate unavailable: {result.error}"
    if est is None or est.total is None:
        if result.kind not in kinds.trainable():
            return f"GPU memory: no estimate for {result.kind or 'non-training'} recipes"
        return f"estimate unavailable: {est.note if est is not None else 'no estimate'}"
    text = est.describe()
    if est.trainable and est.params:
        text += f" · trains {int(est.trainable):,} of {_count(est.params)} params"
    return text


def fit_check(result: FitEstimated | None, budget: GpuBudget | None) -> tuple[str, str]:
    """(text, state) comparing the estimate with the free memory: state "ok", "over" or "" (no check)."""
    est = result.estimate if result is not None else None
    if result is None or est is None or est.total is None:
        return "", ""
    if result.gpus_wanted == 0:
        return "CPU (resources.gpus: 0): no GPU memory check", ""
    if budget is None:
        return "checking free GPU memory…", ""
    if budget.cpu:
        return "CPU: no GPU memory check", ""
    if not budget.free_mib:
        return f"free GPU memory on {budget.where} unknown", ""
    from tailor.engine.api.launch import check_fit  # light; already imported by the estimate's worker

    free = sorted(budget.free_mib, reverse=True)
    verdict = check_fit(est, [SimpleNamespace(memory_free_mib=m) for m in free], gpus_wanted=result.gpus_wanted)
    need = est.total / GIB
    if len(free) < result.gpus_wanted:
        return f"{budget.where}: {verdict.message}", "over"
    worst = free[result.gpus_wanted - 1] / 1024
    if verdict.fits:
        return f"fits: ~{need:.1f} of {worst:.1f} GiB free ({budget.where})", "ok"
    return f"may not fit: needs ~{need:.1f} GiB per GPU, {worst:.1f} GiB free ({budget.where})", "over"


@dataclass
class FitEstimated:
    """The estimate for one (recipe, fit overrides) key; ``error`` is one line when it failed."""

    key: tuple[Any, ...]
    kind: str = ""
    estimate: FitEstimate | None = None
    gpus_wanted: int = 1
    error: str = ""


# -- pickers --------------------------------------------------------------------------------------


def budget_of(probe: Probe) -> GpuBudget:
    """A probed host's free GPU memory (unreachable: unknown)."""
    if not probe.reachable:
        return GpuBudget(probe.host)
    if not probe.gpus:
        return GpuBudget(probe.host, cpu=True)
    return GpuBudget(probe.host, [g.memory_free_mib for g in probe.gpus])


def host_label(name: str, budget: GpuBudget | None, error: str = "", fit: str = "") -> str:
    """One host picker line: name, reachability, free GPU memory, and the fit of this recipe there."""
    if budget is None:
        return f"{name} · probing…"
    if error:
        return f"{name} · unreachable: {error}"
    if budget.cpu:
        where = "no GPU (CPU)"
    elif budget.free_mib:
        where = f"{len(budget.free_mib)} GPU, {max(budget.free_mib) / 1024:.1f} GiB free"
    else:
        where = "free GPU memory unknown"
    return f"{name} · {where}" + (f" · {fit}" if fit else "")


def short_fit(text: str, state: str) -> str:
    return {"ok": "fits", "over": "may not fit"}.get(state, "")


def chain_label(status: Status, method: str | None) -> str:
    """A from_run picker line: the run, its kind and method, its final losses."""
    from tailor.engine.api.runs import number

    parts = [status.run_id, f"{status.kind} {method or ''}".strip()]
    if "loss" in status.latest:
        parts.append(f"loss {number(status.latest['loss'])}")
    if "eval_loss" in status.latest:
        parts.append(f"eval {number(status.latest['eval_loss'])}")
    return " · ".join(parts)


def chain_candidates(runs_dir: Path, statuses: list[Status]) -> list[tuple[str, str]]:
    """(label, run id) of the succeeded runs a chained recipe may start from, newest first."""
    from tailor.engine.api.recipes import load_yaml

    out = []
    for status in reversed(statuses):
        if status.state.value != "succeeded" or status.kind not in kinds.model_producing():
            continue
        method = None
        try:
            recipe = load_yaml((runs_dir / status.run_id / "recipe.yaml").read_text(encoding="utf-8"))
            method = recipe.get("method") if isinstance(recipe, dict) else None
        except Exception:  # no frozen recipe (yet): the label goes without a method
            pass
        out.append((chain_label(status, method), status.run_id))
    return out
