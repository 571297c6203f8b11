"""The Evals screen's launch form: an eval recipe or a dataset, the models to compare, few-shot, host.

Dismisses with an :class:`tailor.engine.eval.launch.EvalLaunch` (or None); the Evals screen launches it and
follows its progress. Bad input (no model, a negative k) is shown inline and what was typed is kept. A field
left untouched keeps the recipe's value: the recipe's own models start ticked, an empty few-shot k (its
placeholder shows the recipe's) is not overridden.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tailor.tui.context import AppAccess
from tailor.tui.keymap import bind
from tailor.tui.widgets.lists import ListMoves, TickList

BASE = "__base__"

if TYPE_CHECKING:
    from tailor.tui.screens.base import TailorScreen as _Screen
else:
    _Screen = object


class LaunchEval(ListMoves, AppAccess, ModalScreen[Any]):
    DEFAULT_CSS = """
    LaunchEval { align: center middle; }
    LaunchEval > Vertical { width: 95%; max-width: 110; height: 95%; max-height: 34; border: thick $primary;
                            background: $surface; padding: 0 1; }
    LaunchEval OptionList { height: 1fr; min-height: 3; }
    LaunchEval SelectionList { height: 1fr; min-height: 3; }
    LaunchEval Horizontal { height: 3; }
    LaunchEval Horizontal Label { padding: 1 1 0 0; }
    LaunchEval Horizontal Input { width: 1fr; }
    LaunchEval #launch-error { color: $error; height: auto; }
    LaunchEval .hint { color: $foreground-muted; height: 1; }
    """
    BINDINGS = [
        bind("evals_launch.launch", "ctrl+s", "launch", "Launch", priority=True),
        bind("evals_launch.down", "j", "down", "Down", show=False),
        bind("evals_launch.up", "k", "up", "Up", show=False),
        bind("evals_launch.first", "g", "first", "First", show=False),
        bind("evals_launch.last", "G", "last", "Last", show=False),
        bind("evals_launch.cancel", "escape", "cancel", "Cancel"),
    ]

    def __init__(self, sources: list[tuple[Path, str]], runs: list[tuple[str, str]], hosts: list[str],
                 defaults: dict[Path, Any] | None = None) -> None:
        super().__init__()
        self.sources = sources  # (path, label): eval recipes, then datasets
        self.runs = runs  # (run id, label)
        self.hosts = hosts
        self.defaults = defaults or {}  # eval recipe -> RecipeDefaults (engine/eval/launch.py)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Evaluate: pick an eval recipe or a held-out dataset")
            yield OptionList(*(Option(label, id=str(path)) for path, label in self.sources), id="launch-source")
            yield Label("Models (space ticks ▐X▌): base model, runs / trials, merged models")
            from textual.widgets.selection_list import Selection

            yield TickList(
                Selection("base model (zero-shot)", BASE, False),
                *(Selection(label, rid, False) for rid, label in self.runs),
                id="launch-models",
            )
            with Horizontal():
                yield Label("few-shot k")
                yield Input("", id="launch-shots", type="integer", placeholder="0")
                yield Label("host")
                yield Input("local", id="launch-host", placeholder=" / ".join(["local", *self.hosts]))
            yield Static("", id="launch-error", markup=False)
            yield Static("ctrl+s launch · empty k keeps the recipe's · tab next · esc cancel",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#launch-source", OptionList).focus()
        if self.sources:
            self.query_one("#launch-source", OptionList).highlighted = 0
        self._source_defaults()

    def _source(self) -> Path | None:
        index = self.query_one("#launch-source", OptionList).highlighted
        return self.sources[index][0] if index is not None and self.sources else None

    def _ticks(self) -> set[str]:
        """What the highlighted source evaluates untouched: a recipe's own models; for a dataset the base
        model and the newest run (not an exported folder)."""
        source = self._source()
        listed = {rid for rid, _ in self.runs}
        found = self.defaults.get(source) if source is not None else None
        if found is not None:
            return {*([BASE] if found.base else []), *(ref for ref in found.refs if ref in listed)}
        newest = next((rid for rid, _ in self.runs if not rid.startswith("model:")), None)
        return {BASE, *([newest] if newest else [])}

    @on(OptionList.OptionHighlighted, "#launch-source")
    def _source_defaults(self) -> None:
        """Show the highlighted source's own values: ticks and the few-shot placeholder (empty keeps it)."""
        models = self.query_one("#launch-models", TickList)
        ticks = self._ticks()
        models.deselect_all()
        for value in ticks:
            models.select(value)
        source = self._source()
        found = self.defaults.get(source) if source is not None else None
        shots = self.query_one("#launch-shots", Input)
        shots.placeholder = f"{found.shots} (the recipe's)" if found is not None and found.shots is not None else "0"

    def _list(self) -> OptionList:
        focused = self.focused
        return focused if isinstance(focused, OptionList) else self.query_one("#launch-source", OptionList)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_launch()

    def action_launch(self) -> None:
        from tailor.engine.api.evals import EvalLaunch

        error = self.query_one("#launch-error", Static)
        sources = self.query_one("#launch-source", OptionList)
        if sources.highlighted is None or not self.sources:
            error.update("error: pick an eval recipe or a dataset first (no eval recipes or .jsonl files in the workspace?)")
            return
        picked = [str(v) for v in self.query_one("#launch-models", TickList).selected]
        shots_text = self.query_one("#launch-shots", Input).value.strip()
        shots: int | None = None  # empty: the recipe's own k (a dataset has none: 0)
        if shots_text:
            try:
                shots = int(shots_text)
                if shots < 0:
                    raise ValueError
            except ValueError:
                error.update(f"error: few-shot k: {shots_text!r} is not a whole number >= 0")
                return
        host = self.query_one("#launch-host", Input).value.strip()
        if host not in ("", "local") and host not in self.hosts:
            error.update(f"error: host {host!r} is not configured; use local or one of: {', '.join(self.hosts) or '(none)'}")
            return
        if not picked:
            error.update("error: pick at least one model (space toggles)")
            return
        source = self.sources[sources.highlighted][0]
        runs = [p for p in picked if p != BASE and not p.startswith("model:")]
        models = [p.partition(":")[2] for p in picked if p.startswith("model:")]
        # the recipe's models untouched: it runs as written (its trials and latest: references included)
        untouched = source in self.defaults and set(picked) == self._ticks()
        self.dismiss(EvalLaunch(source, runs, BASE in picked, shots, None if host in ("", "local") else host, models,
                                recipe_models=untouched))

    def action_cancel(self) -> None:
        self.dismiss(None)


class EvalLaunchMixin(_Screen):
    """The Evals screen's half that launches evaluations and follows their progress until results land."""

    launched: dict[str, str | None]
    progress: dict[str, str]

    if TYPE_CHECKING:  # provided by the Evals screen
        def _status(self, extra: str = "") -> None: ...
        def scan(self) -> Any: ...

    def action_new_eval(self) -> None:
        self.open_launch_form()

    @work(thread=True, group="evals.launch_form", exclusive=True, exit_on_error=False)
    def open_launch_form(self) -> None:
        from tailor.engine.api.evals import datasets, eval_recipes, model_choices, recipe_defaults
        from tailor.engine.api.hosts import workspace_hosts

        ws = self.tailor.workspace
        recipes = eval_recipes(ws)
        defaults = {p: recipe_defaults(ws, p) for p in recipes}
        sources = [(p, f"recipe  {p.name}") for p in recipes]
        sources += [(p, f"data    {p.relative_to(ws.data_dir)}") for p in datasets(ws)]
        # the Playground's list (engine/eval/choices.py): runs, trials, merge runs, exported merged models
        runs = [(c.ref, c.label) for c in model_choices(ws)]
        try:
            hosts = sorted(workspace_hosts(ws))
        except Exception:  # a broken workspace.yaml: local only (the Hosts screen reports it)
            hosts = []
        self.app.call_from_thread(self._show_launch_form, sources, runs, hosts, defaults)

    def _show_launch_form(self, sources: list[tuple[Path, str]], runs: list[tuple[str, str]], hosts: list[str],
                          defaults: dict[Path, Any]) -> None:
        def chosen(spec: Any) -> None:
            if spec is not None:
                self.launch(spec)

        self.app.push_screen(LaunchEval(sources, runs, hosts, defaults), chosen)

    @work(group="evals.launch", exit_on_error=False)
    async def launch(self, spec: Any) -> None:
        from tailor.engine.api.errors import TailorError
        from tailor.engine.api.evals import prepare

        try:
            recipe, overrides = prepare(self.tailor.workspace, spec)
            status = await self.tailor.engine(lambda ex: ex.launch(recipe, overrides=overrides or None), spec.host)
        except (TailorError, ValueError) as exc:
            self.notify(f"cannot launch: {exc}", severity="error")
            return
        self.launched[status.run_id] = spec.host
        self.progress[status.run_id] = "queued"
        self.notify(f"evaluating in run {status.run_id}; the table fills in model by model")
        self._status()

    @work(group="evals.poll", exclusive=True, exit_on_error=False)
    async def poll_launched(self) -> None:
        for run_id, host in list(self.launched.items()):
            try:
                st = await self.tailor.engine(partial(_status_of, run_id=run_id), host)
            except Exception as exc:  # an unreachable host: say so, try again next scan
                from tailor.engine.api.errors import one_line

                self.progress[run_id] = f"status unknown ({one_line(exc)})"
                continue
            if st.state.terminal:
                self.launched.pop(run_id, None)
                self.progress.pop(run_id, None)
                ok = st.state.value == "succeeded"
                self.notify(f"evaluation {run_id} {st.state.value}" + ("" if ok else f": {st.error or 'see tailor logs'}"),
                            severity="information" if ok else "error")
                if host:
                    await self.tailor.engine(partial(_fetch, run_id=run_id), host)  # results land here
                self.scan()
            else:
                done = f"{st.step}/{st.total_steps}" if st.total_steps else str(st.step)
                pct = f" ({100 * st.step // st.total_steps}%)" if st.total_steps else ""
                self.progress[run_id] = f"{st.state.value} {done}{pct}"
        self._status()



async def _status_of(executor: Any, *, run_id: str) -> Any:
    return await executor.status(run_id)


async def _fetch(executor: Any, *, run_id: str) -> Any:
    return await executor.fetch(run_id)
