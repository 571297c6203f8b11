"""Launch a recipe: pick a recipe, a host and (for chained kinds) a run to start from, override a few
fields, preview the effective recipe, launch. The CLI twin is ``tailor run RECIPE -s KEY=VALUE --host H``.

The form launches itself (``executor.launch`` for the chosen host, exactly what ``tailor run --host``
does: data sync, the host's Python) and is dismissed with the queued ``Status`` only once the run exists.
Before that, ``tailor.engine.preflight`` checks what is known to fail (model resolvable, data format versus kind,
override types) and each problem shows under its field; a failed launch shows its reason; the form is
never closed by an error and keeps what was typed. A field that is fixed clears its message (the checks
run again after each change while a message is shown).

Fit check: the estimate (``tailor.engine.memory_estimate``, a thread worker, config.json only) for the recipe with
the model and LoRA r overrides, compared with the chosen host's free GPU memory (``nvidia-smi`` here, a
probe of each configured host through tailor.engine.api.hosts). An estimate above it turns the line into a
warning and ctrl+s must be pressed twice. The logic without widgets is in tui/screens/launch_checks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tailor.engine.api import kinds
from tailor.tui.errors import WorkerErrorsMixin
from tailor.tui.keymap import bind
from tailor.tui.screens.launch_checks import (  # re-exported: tests and callers import them from here
    FIELDS,
    FIT_FIELDS,
    FitEstimated,
    GpuBudget,
    LaunchRequest,
    RecipeInfo,
    estimate_text,
    fit_check,
    fit_estimate,
    local_gpu_budget,
    parse_overrides,
    read_recipe,
)
from tailor.tui.screens.launch_pickers import CHAIN_MODES, NO_RUN, LaunchPickersMixin
from tailor.tui.screens.launch_submit import LaunchSubmitMixin
from tailor.tui.widgets.lists import VimOptionList

if TYPE_CHECKING:
    pass

__all__ = ["FIELDS", "GpuBudget", "LaunchRequest", "LaunchScreen", "estimate_text", "fit_check", "fit_estimate",
           "local_gpu_budget", "parse_overrides", "read_recipe"]



class LaunchScreen(LaunchSubmitMixin, LaunchPickersMixin, WorkerErrorsMixin, ModalScreen[object]):
    @dataclass
    class RecipesListed(Message):
        recipes: list[Path]

    @dataclass
    class RecipeRead(Message):
        info: RecipeInfo

    @dataclass
    class FitDone(Message):
        result: FitEstimated

    DEFAULT_CSS = """
    LaunchScreen { align: center middle; }
    LaunchScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; overflow-y: auto;
    }
    LaunchScreen #launch-title { text-style: bold; color: $accent; height: 1; }
    LaunchScreen OptionList { height: auto; max-height: 6; min-height: 3; }
    LaunchScreen #launch-about { height: auto; max-height: 2; color: $foreground-muted; }
    LaunchScreen .field-row { height: auto; }
    LaunchScreen .field-row Label { width: 16; color: $foreground-muted; }
    LaunchScreen .field-row Input, LaunchScreen .field-row Select { width: 1fr; }
    LaunchScreen .field-row Input { background: $boost; }
    LaunchScreen .field-row #launch-from_run_mode { width: 16; }
    LaunchScreen .field-error { color: $error; height: auto; margin-left: 16; }
    LaunchScreen.-short OptionList { max-height: 3; }
    LaunchScreen.-short #launch-buttons { margin-top: 0; }
    LaunchScreen #launch-fit { color: $foreground-muted; height: auto; }
    LaunchScreen #launch-fit-check { color: $foreground-muted; height: auto; }
    LaunchScreen #launch-fit-check.-ok { color: $success; }
    LaunchScreen #launch-fit-check.-over { color: $warning; text-style: bold; }
    LaunchScreen #launch-error { color: $error; height: auto; }
    LaunchScreen #launch-buttons { height: auto; margin-top: 1; }
    LaunchScreen Button { margin-right: 2; }
    LaunchScreen.-narrow > Vertical { width: 100%; }
    LaunchScreen.-narrow Button { margin-right: 1; }
    """
    # Below 30 rows the recipe list is shorter, so the estimate, its warning and the buttons fit at 80x24;
    # below 80 columns the form takes the whole width, so the three buttons fit on one line at 60.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]
    BINDINGS = [
        bind("launch.submit", "ctrl+s", "submit", "Launch"),
        bind("launch.preview", "ctrl+r", "preview", "Preview recipe"),
        bind("launch.close", "escape", "close", "Close"),
    ]

    def __init__(self, *, launch: bool = True) -> None:
        """``launch=False``: dismiss with the checked ``LaunchRequest`` instead of launching it (tests)."""
        super().__init__()
        self.launches = launch
        self.recipes: list[Path] = []
        self.current: RecipeInfo | None = None
        self.budgets: dict[str, GpuBudget] = {}  # host -> free GPU memory (absent: not probed yet)
        self.host_errors: dict[str, str] = {}
        self.hosts: list[str] = ["local"]
        self.chain_runs: list[tuple[str, str]] = []  # (label, run id) the from_run picker offers
        self.fit: FitEstimated | None = None  # the estimate for the current inputs (None: pending)
        self.fit_text, self.fit_state = "", ""  # the last comparison shown; state "ok" | "over" | ""
        self.fit_key: tuple[Any, ...] = ()
        self.fit_shown = False  # the estimate line holds an estimate (kept while the next is computed)
        self.problems: dict[str, str] = {}  # field -> message shown under it
        self.launching = False
        self._confirmed = False  # ctrl+s pressed once on an over-budget form

    # -- layout ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Launch a run", id="launch-title")
            yield VimOptionList(id="launch-recipes", compact=True)  # scrolls: j/k/g/G, arrows, home/end
            yield Static("", id="launch-about", markup=False)
            with Horizontal(classes="field-row"):
                yield Label("Host")
                yield Select([("local · probing…", "local")], value="local", allow_blank=True, prompt="local",
                             compact=True, id="launch-host")
            yield self._error_line("host")
            with Horizontal(classes="field-row", id="launch-from_run-row"):
                yield Label("From run")
                yield Select([("none: the base model", NO_RUN)], value=NO_RUN, allow_blank=False, compact=True,
                             id="launch-from_run")
                yield Select(CHAIN_MODES, value="merge", allow_blank=False, compact=True, id="launch-from_run_mode")
            yield self._error_line("from_run")
            for name, (_key, label, _kind) in FIELDS.items():
                with Horizontal(classes="field-row"):
                    yield Label(label)
                    yield Input(id=f"launch-{name}", compact=True, disabled=True)
                yield self._error_line(name)
            for name in ("fit", "fit-check", "error"):
                yield Static("", id=f"launch-{name}", markup=False).set_styles("display: none;")
            with Horizontal(id="launch-buttons"):
                yield Button("Launch (ctrl+s)", id="launch-go", variant="primary", disabled=True, compact=True)
                yield Button("Preview (ctrl+r)", id="launch-preview", compact=True)
                yield Button("Close (esc)", id="launch-cancel", compact=True)

    @staticmethod
    def _error_line(name: str) -> Static:
        line = Static("", id=f"launch-{name}-error", classes="field-error", markup=False)
        line.display = False
        return line

    def on_mount(self) -> None:
        self._show_chain(False)
        self.query_one(OptionList).focus()
        self.list_recipes()
        self.probe_local()
        self.list_hosts()
        self.list_runs()

    # -- recipes -----------------------------------------------------------------------------------
    @work(group="launch.recipes", exclusive=True, exit_on_error=False)
    async def list_recipes(self) -> None:
        workspace = self.tailor.workspace
        recipes = await self.tailor.bridge.call(workspace.recipes)
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
        info = await self.tailor.bridge.call(lambda: read_recipe(path))
        self.post_message(self.RecipeRead(info))

    def on_launch_screen_recipe_read(self, message: LaunchScreen.RecipeRead) -> None:
        info = self.current = message.info
        trainable = info.kind in kinds.trainable()
        about = f"{info.path.name} · kind {info.kind}" if info.kind else info.path.name
        if trainable:
            about += " · empty fields keep the recipe's value"
        elif info.kind:
            about += f" · overrides apply to {kinds.either(kinds.trainable())} recipes; launch as is"
        self.query_one("#launch-about", Static).update(about)
        for name in FIELDS:
            box = self.query_one(f"#launch-{name}", Input)
            box.value = ""
            box.placeholder = info.values.get(name, "")
            box.disabled = not trainable
        self._show_chain(info.chains)
        self._set_problems({})
        self._line("#launch-error", info.error)
        self.query_one("#launch-go", Button).disabled = bool(info.error)
        self.refresh_fit()

    # -- the form's values -------------------------------------------------------------------------
    def raw_values(self) -> dict[str, str]:
        return {name: self.query_one(f"#launch-{name}", Input).value for name in FIELDS}

    def overrides(self, *, typed: bool = True) -> dict[str, Any]:
        """Typed overrides (the fields', then from_run); ValueError names the field. ``typed=False``:
        from_run alone."""
        info = self.current
        if info is None or info.kind not in kinds.trainable():
            return {}
        out = parse_overrides(self.raw_values()) if typed else {}
        chosen = self.query_one("#launch-from_run", Select).value
        if info.chains and isinstance(chosen, str) and chosen != NO_RUN:
            out["from_run"] = chosen
        mode = self.query_one("#launch-from_run_mode", Select).value
        if info.chains and (out.get("from_run") or info.from_run) and mode != info.from_run_mode:
            out["from_run_mode"] = mode
        return out

    def request(self) -> LaunchRequest | None:
        info = self.current
        if info is None or info.error:
            return None
        return LaunchRequest(info.path, self.overrides(), self.host)

    # -- fit check ---------------------------------------------------------------------------------
    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id in {f"launch-{name}" for name in FIT_FIELDS}:
            self.refresh_fit()
        self._recheck()

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
            self.post_message(self.FitDone(FitEstimated(key, info.kind, error=str(exc))))
            return
        # Keep the last lines until the new estimate lands (ms): the form must not jump while typing.
        self._disarm()
        if not self.fit_shown:
            self._show_fit("GPU memory: estimating…")
        self.estimate_fit(key, info.path, overrides)

    @work(thread=True, exclusive=True, group="launch.fit", exit_on_error=False)
    def estimate_fit(self, key: tuple[Any, ...], path: Path, overrides: dict[str, Any]) -> None:
        from tailor.engine.api.errors import one_line

        try:
            kind, estimate, gpus = fit_estimate(path, overrides)
            result = FitEstimated(key, kind, estimate, gpus)
        except Exception as exc:  # advisory: any failure is the line's one-line text
            result = FitEstimated(key, error=one_line(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(self.FitDone(result))

    def on_launch_screen_fit_done(self, message: LaunchScreen.FitDone) -> None:
        if message.result.key == self.fit_key:
            self.fit = message.result
            self._show_fit(estimate_text(message.result))
            self._relabel_hosts()

    def _show_fit(self, estimate: str | None = None) -> None:
        """Update the estimate line (when given) and the comparison line; any change asks again."""
        if estimate is not None:
            self._line("#launch-fit", estimate)
            self.fit_shown = bool(estimate)
        self._disarm()
        self.fit_text, self.fit_state = fit_check(self.fit, self.budget)
        if self.host_errors.get(self.host):
            self.fit_text, self.fit_state = f"{self.host} is unreachable: {self.host_errors[self.host]}", "over"
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
        {"launch-go": self.action_submit, "launch-preview": self.action_preview}.get(
            event.button.id or "", self.action_close
        )()

    def action_submit(self) -> None:
        if not self.launching:
            self.check(launch=True)

    def action_preview(self) -> None:
        from tailor.tui.screens.launch_preview import RecipePreviewScreen

        try:
            request = self.request()
        except ValueError as exc:
            self._set_problems({**self.problems, "recipe": str(exc)})
            return
        if request is not None:
            self.app.push_screen(RecipePreviewScreen(request))

    def action_close(self) -> None:
        self.dismiss(None)
