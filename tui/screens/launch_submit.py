"""The launch form's checks and launch: type the overrides, run ``tailor.engine.preflight`` in a thread, show each
problem under its field (a fixed field clears its message), warn once when the estimate is over the
chosen host's free memory, then launch on that host (``executor.launch``, what ``tailor run --host`` does)
and keep the form, with what was typed, when the launch fails.

A mixin of LaunchScreen (tui/screens/launch.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Select
from textual.worker import get_current_worker

from tailor.engine.api import kinds
from tailor.tui.context import AppAccess
from tailor.tui.screens.launch_checks import FIELDS, LaunchRequest, parse_overrides

if TYPE_CHECKING:
    from tailor.engine.api.launch import Problem
    from tailor.tui.screens.launch_checks import RecipeInfo

    class _Screen(AppAccess, ModalScreen[object]): ...
else:  # at run time the mixin adds methods (and the typed app) only; LaunchScreen brings the screen
    _Screen = AppAccess

ERROR_FIELDS = ("host", "from_run", *FIELDS)


class LaunchSubmitMixin(_Screen):
    """Needs the form's values and lines from LaunchScreen."""

    if TYPE_CHECKING:  # what LaunchScreen provides
        current: RecipeInfo | None
        problems: dict[str, str]
        launching: bool
        launches: bool
        fit_state: str
        fit_text: str
        _confirmed: bool

        @property
        def host(self) -> str: ...
        def raw_values(self) -> dict[str, str]: ...
        def overrides(self, *, typed: bool = True) -> dict[str, Any]: ...
        def request(self) -> LaunchRequest | None: ...
        def _line(self, selector: str, text: str) -> None: ...
        def _disarm(self) -> None: ...

    @dataclass
    class Checked(Message):
        """Preflight problems for the form as it was (``key``); ``launch``: go ahead when there are none."""

        key: tuple[Any, ...]
        problems: list[Problem]
        launch: bool = False

    @dataclass
    class LaunchFailed(Message):
        error: str

    # -- checks and launch -------------------------------------------------------------------------
    def _set_problems(self, problems: dict[str, str]) -> None:
        """Show each problem under its field (``recipe``: the line above the buttons); clear the rest."""
        self.problems = problems
        for name in ERROR_FIELDS:
            self._line(f"#launch-{name}-error", problems.get(name, ""))
        self._line("#launch-error", problems.get("recipe", ""))

    def _form_key(self) -> tuple[Any, ...]:
        return (self.current.path if self.current else None, tuple(self.raw_values().items()), self.host,
                self.query_one("#launch-from_run", Select).value)

    def _recheck(self) -> None:
        """While a message is shown, check again after a change so a fixed field clears it."""
        if self.problems and not self.launching:
            self.set_timer(0.3, lambda: self.check(launch=False), name="launch.recheck")

    def check(self, *, launch: bool) -> None:
        """Type the overrides here (instant), then run the preflight checks in a thread."""
        info = self.current
        if info is None:
            self._set_problems({"recipe": "Pick a recipe first."})
            return
        if info.error:
            self._set_problems({"recipe": info.error})
            return
        problems = {}
        for name, text in self.raw_values().items():
            try:
                parse_overrides({name: text})
            except ValueError as exc:
                problems[name] = str(exc)
        if info.kind not in kinds.trainable():
            self._set_problems({})
            if launch:
                self._go()
            return
        # The other fields are checked too (without the mistyped ones), so every message shows at once.
        overrides = parse_overrides({k: v for k, v in self.raw_values().items() if k not in problems})
        overrides.update({k: v for k, v in self.overrides(typed=False).items() if k == "from_run"})
        self.preflight(self._form_key(), info.path, overrides, self.host, launch, problems)

    @work(thread=True, exclusive=True, group="launch.check", exit_on_error=False)
    def preflight(self, key: tuple[Any, ...], path: Path, overrides: dict[str, Any], host: str, launch: bool,
                  typed: dict[str, str]) -> None:
        from tailor.engine.api.launch import Problem, preflight

        problems = [Problem(name, text) for name, text in typed.items()] + preflight(path, overrides, host=host)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Checked(key, problems, launch and not typed))

    def on_launch_submit_mixin_checked(self, message: LaunchSubmitMixin.Checked) -> None:
        if message.key != self._form_key():
            return  # the form changed meanwhile: a newer check follows
        shown: dict[str, str] = {}
        for problem in message.problems:
            shown.setdefault(problem.field if problem.field in ERROR_FIELDS else "recipe", problem.message)
        self._set_problems(shown)
        if message.launch and not shown:
            self._go()

    def _go(self) -> None:
        """Checked: warn once when the estimate is over budget, else launch (or hand the request back)."""
        if self.fit_state == "over" and not self._confirmed:  # warn once; a second ctrl+s launches
            self._confirmed = True
            self._line("#launch-fit-check", f"{self.fit_text} · ctrl+s again to launch anyway")
            self.query_one("#launch-go", Button).label = "Launch anyway"
            return
        request = self.request()
        if request is None:
            return
        if not self.launches:
            self.dismiss(request)
            return
        self.launching = True
        self.query_one("#launch-go", Button).label = "Launching…"
        self.launch(request)

    @work(group="launch.go", exclusive=True, exit_on_error=False)
    async def launch(self, request: LaunchRequest) -> None:
        from tailor.engine.api.errors import one_line

        try:
            status = await self.tailor.engine(
                lambda ex: ex.launch(request.recipe, overrides=request.overrides or None), request.host
            )
        except Exception as exc:  # shown in the form, which stays open with what was typed
            self.post_message(self.LaunchFailed(one_line(exc)))
            return
        status.via = request.host or "local"  # where it lives as seen from here (status.host: the machine name)
        self.dismiss(status)

    def on_launch_submit_mixin_launch_failed(self, message: LaunchSubmitMixin.LaunchFailed) -> None:
        self.launching = False
        self._disarm()
        self._set_problems({**self.problems, "recipe": f"launch failed: {message.error}"})
