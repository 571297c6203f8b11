"""Launch a recipe: pick one of the workspace recipes, override a few fields, launch.

Returns a ``LaunchRequest`` (or None) through ``dismiss``; the Runs screen launches it in a worker.
Recipes are listed and read on the engine thread; a recipe that does not validate shows its one-line
error here and cannot be launched.

Fit check: the form shows the GPU memory estimate (``engine.memory_estimate``) for the selected recipe with
the model and LoRA r overrides applied (a thread worker; the estimate reads config.json only, never torch), and
compares it with the free GPU memory of the target (the form launches locally: ``nvidia-smi`` here, else "CPU").
An estimate above the free memory turns the line into a warning and ctrl+s must be pressed twice.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from engine import kinds
from tui.errors import WorkerErrorsMixin
from tui.keymap import bind

if TYPE_CHECKING:
    from engine.memory_estimate import FitEstimate

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
    recipe: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    host: str | None = None


def read_recipe(path: Path) -> LaunchScreen.RecipeInfo:
    """The form's view of a recipe (runs on the engine thread: it validates the file)."""
    from engine.errors import TailorError
    from engine.recipes.load import load_recipe
    from engine.recipes.trainable import TrainableRecipe

    try:
        recipe = load_recipe(path, check_files=False)
    except TailorError as exc:
        return LaunchScreen.RecipeInfo(path, error=str(exc))
    values: dict[str, str] = {}
    if recipe.kind in kinds.trainable() and isinstance(recipe, TrainableRecipe):
        train = recipe.train
        values = {
            "model": recipe.model.name_or_path,
            "dataset": ", ".join(Path(s.path).name for s in recipe.data.train),
            "r": str(recipe.lora.r),
            "learning_rate": str(train.get("learning_rate", "default")),
            "epochs": str(train.get("num_train_epochs", "default"))
            + (f" (max_steps {train['max_steps']} takes precedence)" if train.get("max_steps") else ""),
        }
    return LaunchScreen.RecipeInfo(path, kind=recipe.kind, values=values)


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
    from engine.memory_estimate import estimate_recipe
    from engine.recipes.load import load_recipe, parse_recipe
    from engine.recipes.overrides import apply_overrides
    from engine.recipes.yamlio import load_yaml

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


def estimate_text(result: LaunchScreen.FitEstimated) -> str:
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
        text += f" · trains {_count(est.trainable)} of {_count(est.params)} params"
    return text


def fit_check(result: LaunchScreen.FitEstimated | None, budget: GpuBudget | None) -> tuple[str, str]:
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
    from engine.memory_estimate import check_fit  # light; already imported by the estimate's worker

    free = sorted(budget.free_mib, reverse=True)
    verdict = check_fit(est, [SimpleNamespace(memory_free_mib=m) for m in free], gpus_wanted=result.gpus_wanted)
    need = est.total / GIB
    if len(free) < result.gpus_wanted:
        return f"{budget.where}: {verdict.message}", "over"
    worst = free[result.gpus_wanted - 1] / 1024
    if verdict.fits:
        return f"fits: ~{need:.1f} of {worst:.1f} GiB free ({budget.where})", "ok"
    return f"may not fit: needs ~{need:.1f} GiB per GPU, {worst:.1f} GiB free ({budget.where})", "over"


class LaunchScreen(WorkerErrorsMixin, ModalScreen[LaunchRequest | None]):
    @dataclass
    class RecipesListed(Message):
        recipes: list[Path]

    @dataclass
    class RecipeInfo(Message):
        """The fields the form shows for one recipe (or the one-line error reading it)."""

        path: Path
        kind: str = ""
        values: dict[str, str] = field(default_factory=dict)
        error: str = ""

    @dataclass
    class GpuBudgetFound(Message):
        budget: GpuBudget

    @dataclass
    class FitEstimated(Message):
        """The estimate for one (recipe, fit overrides) key; ``error`` is one line when it failed."""

        key: tuple[Any, ...]
        kind: str = ""
        estimate: FitEstimate | None = None
        gpus_wanted: int = 1
        error: str = ""

    DEFAULT_CSS = """
    LaunchScreen { align: center middle; }
    LaunchScreen > Vertical {
        width: 90%; max-width: 96; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; overflow-y: auto;
    }
    LaunchScreen #launch-title { text-style: bold; color: $accent; height: 1; }
    LaunchScreen OptionList { height: auto; max-height: 6; min-height: 3; }
    LaunchScreen #launch-about { height: auto; max-height: 2; color: $foreground-muted; }
    LaunchScreen Grid { grid-size: 2; grid-columns: 15 1fr; height: auto; grid-rows: 1; grid-gutter: 0 1; }
    LaunchScreen Grid Label { color: $foreground-muted; }
    LaunchScreen Grid Input { background: $boost; }
    LaunchScreen.-short OptionList { max-height: 4; }
    LaunchScreen #launch-fit { color: $foreground-muted; height: auto; }
    LaunchScreen #launch-fit-check { color: $foreground-muted; height: auto; }
    LaunchScreen #launch-fit-check.-ok { color: $success; }
    LaunchScreen #launch-fit-check.-over { color: $warning; text-style: bold; }
    LaunchScreen #launch-error { color: $error; height: auto; }
    LaunchScreen Horizontal { height: auto; margin-top: 1; }
    LaunchScreen Button { margin-right: 2; }
    """
    # Below 30 rows the recipe list is shorter, so the estimate, its warning and the buttons fit at 80x24.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        bind("launch.submit", "ctrl+s", "submit", "Launch"),
        bind("launch.close", "escape", "close", "Close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.recipes: list[Path] = []
        self.current: LaunchScreen.RecipeInfo | None = None
        self.budget: GpuBudget | None = None  # the target's free GPU memory (None: not probed yet)
        self.fit: LaunchScreen.FitEstimated | None = None  # the estimate for the current inputs (None: pending)
        self.fit_text, self.fit_state = "", ""  # the last comparison shown; state "ok" | "over" | ""
        self.fit_key: tuple[Any, ...] = ()
        self.fit_shown = False  # the estimate line holds an estimate (kept while the next is computed)
        self._confirmed = False  # ctrl+s pressed once on an over-budget form

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Launch a run", id="launch-title")
            yield OptionList(id="launch-recipes", compact=True)
            yield Static("", id="launch-about", markup=False)
            with Grid():
                for name, (_key, label, _kind) in FIELDS.items():
                    yield Label(label)
                    yield Input(id=f"launch-{name}", compact=True, disabled=True)
            for name in ("fit", "fit-check", "error"):
                yield Static("", id=f"launch-{name}", markup=False).set_styles("display: none;")
            with Horizontal():
                yield Button("Launch (ctrl+s)", id="launch-go", variant="primary", disabled=True)
                yield Button("Close (esc)", id="launch-cancel")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.list_recipes()
        self.probe_gpus()

    @work(group="launch.recipes", exclusive=True, exit_on_error=False)
    async def list_recipes(self) -> None:
        workspace = self.app.workspace  # type: ignore[attr-defined]
        recipes = await self.app.bridge.call(workspace.recipes)  # type: ignore[attr-defined]
        self.post_message(self.RecipesListed(recipes))

    def on_launch_screen_recipes_listed(self, message: LaunchScreen.RecipesListed) -> None:
        self.recipes = message.recipes
        options = self.query_one(OptionList)
        options.clear_options()
        if not self.recipes:
            self.query_one("#launch-about", Static).update("No recipes in the workspace's recipes/ folder.")
            return
        options.add_options([Option(p.stem, id=str(i)) for i, p in enumerate(self.recipes)])
        preferred = next((i for i, p in enumerate(self.recipes) if p.stem == "demo-sft"), 0)
        options.highlighted = preferred

    @on(OptionList.OptionHighlighted, "#launch-recipes")
    def _recipe_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.read_selected(self.recipes[int(event.option.id or 0)])

    @on(OptionList.OptionSelected, "#launch-recipes")
    def _recipe_selected(self, event: OptionList.OptionSelected) -> None:
        first = self.query_one("#launch-model", Input)
        if not first.disabled:
            first.focus()

    @work(group="launch.recipe", exclusive=True, exit_on_error=False)
    async def read_selected(self, path: Path) -> None:
        info = await self.app.bridge.call(lambda: read_recipe(path))  # type: ignore[attr-defined]
        self.post_message(info)

    def on_launch_screen_recipe_info(self, info: LaunchScreen.RecipeInfo) -> None:
        self.current = info
        trainable = info.kind in kinds.trainable()
        about = f"{info.path.name} · kind {info.kind}" if info.kind else info.path.name
        if info.kind in kinds.trainable():
            about += " · type to override a field; empty keeps the recipe's value"
        if info.kind and not trainable:
            about += " · overrides apply to sft/dpo recipes; launch as is"
        self.query_one("#launch-about", Static).update(about)
        for name in FIELDS:
            box = self.query_one(f"#launch-{name}", Input)
            box.value = ""
            box.placeholder = info.values.get(name, "")
            box.disabled = not trainable
        self._line("#launch-error", info.error)
        self.query_one("#launch-go", Button).disabled = bool(info.error)
        self.refresh_fit()

    # -- fit check ---------------------------------------------------------------------------------

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id in {f"launch-{name}" for name in FIT_FIELDS}:
            self.refresh_fit()

    def refresh_fit(self) -> None:
        """Re-estimate for the current recipe and fit overrides (a no-op when they did not change)."""
        info = self.current
        if info is None or info.error:
            self.fit_key, self.fit = (), None
            self._show_fit("")
            return
        raw = {name: self.query_one(f"#launch-{name}", Input).value for name in FIT_FIELDS}
        key = (info.path, tuple(sorted(raw.items())) if info.kind in kinds.trainable() else ())
        if key == self.fit_key:
            return
        self.fit_key, self.fit = key, None
        try:
            overrides = parse_overrides(raw) if info.kind in kinds.trainable() else {}
        except ValueError as exc:
            self.post_message(self.FitEstimated(key, info.kind, error=str(exc)))
            return
        # Keep the last lines until the new estimate lands (ms): the form must not jump while typing.
        self._disarm()
        if not self.fit_shown:
            self._show_fit("GPU memory: estimating…")
        self.estimate_fit(key, info.path, overrides)

    @work(thread=True, exclusive=True, group="launch.fit", exit_on_error=False)
    def estimate_fit(self, key: tuple[Any, ...], path: Path, overrides: dict[str, Any]) -> None:
        from engine.errors import one_line

        try:
            kind, estimate, gpus = fit_estimate(path, overrides)
            result = self.FitEstimated(key, kind, estimate, gpus)
        except Exception as exc:  # advisory: any failure is the line's one-line text
            result = self.FitEstimated(key, error=one_line(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(result)

    def on_launch_screen_fit_estimated(self, result: LaunchScreen.FitEstimated) -> None:
        if result.key == self.fit_key:
            self.fit = result
            self._show_fit(estimate_text(result))

    @work(thread=True, exclusive=True, group="launch.gpus", exit_on_error=False)
    def probe_gpus(self) -> None:
        self.post_message(self.GpuBudgetFound(local_gpu_budget()))

    def on_launch_screen_gpu_budget_found(self, message: LaunchScreen.GpuBudgetFound) -> None:
        if self.budget is None:  # a budget set through set_gpu_budget wins over the probe
            self.set_gpu_budget(message.budget)

    def set_gpu_budget(self, budget: GpuBudget) -> None:
        """The launch target's free GPU memory (the probe's result; a host picker would call this)."""
        self.budget = budget
        self._show_fit()

    def _show_fit(self, estimate: str | None = None) -> None:
        """Update the estimate line (when given) and the comparison line; any change asks again."""
        if estimate is not None:
            self._line("#launch-fit", estimate)
            self.fit_shown = bool(estimate)
        self._disarm()
        self.fit_text, self.fit_state = fit_check(self.fit, self.budget)
        check = self.query_one("#launch-fit-check", Static)
        check.set_class(self.fit_state == "ok", "-ok")
        check.set_class(self.fit_state == "over", "-over")
        self._line("#launch-fit-check", self.fit_text)

    def _line(self, selector: str, text: str) -> None:
        """Show a one-line status Static, hidden while empty (an empty Static still takes a row)."""
        line = self.query_one(selector, Static)
        line.update(text)
        line.display = bool(text)

    def _disarm(self) -> None:
        self._confirmed = False
        self.query_one("#launch-go", Button).label = "Launch (ctrl+s)"

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch-go":
            self.action_submit()
        else:
            self.action_close()

    def action_submit(self) -> None:
        info = self.current
        if info is None:
            self._line("#launch-error", "Pick a recipe first.")
            return
        if info.error:
            self.notify(info.error, severity="error")
            return
        raw = {name: self.query_one(f"#launch-{name}", Input).value for name in FIELDS}
        try:
            overrides = parse_overrides(raw) if info.kind in kinds.trainable() else {}
        except ValueError as exc:
            self._line("#launch-error", str(exc))
            return
        self._line("#launch-error", "")
        if self.fit_state == "over" and not self._confirmed:  # warn once; a second ctrl+s launches
            self._confirmed = True
            self._line("#launch-fit-check", f"{self.fit_text} · ctrl+s again to launch anyway")
            self.query_one("#launch-go", Button).label = "Launch anyway"
            return
        self.dismiss(LaunchRequest(info.path, overrides))

    def action_close(self) -> None:
        self.dismiss(None)
