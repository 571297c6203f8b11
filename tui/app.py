"""TailorApp: the shell. One Textual mode per registered screen, app-wide keys, palette, keymap, theme.

Start-up is kept light: screens are imported on first visit (the start screen at once), and engine
modules (executors, recipes) are imported on the engine thread (tui/bridge.py) after the first paint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

from tui.bridge import EngineBridge
from tui.keymap import bind, clean_keymap, keymap_problems
from tui.screens import SCREENS, load_screen

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.executors.base import Executor
    from engine.workspace import Workspace

T = TypeVar("T")


class TailorCommands(Provider):
    """Command palette: go to any screen, and every binding of the screen it was opened from."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        app = self.app
        for item in SCREENS:
            yield f"Go to {item.title}", f"{item.key} · {item.about}", partial(app.run_action, f"goto('{item.name}')")
        seen: set[str] = set()
        for _key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.action in ("command_palette", "app.command_palette") or not active.enabled:
                continue
            title = binding.description or binding.action
            if title in seen or title.startswith("Go to"):
                continue
            seen.add(title)
            help_text = f"{app.get_key_display(binding)}" + (f" · {binding.id}" if binding.id else "")
            yield title, help_text, partial(app.run_action, binding.action, active.node)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class TailorApp(App[None]):
    TITLE = "Tailor"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {TailorCommands}
    DEFAULT_MODE = "runs"
    MODES: ClassVar[dict[str, Any]] = {item.name: partial(load_screen, item) for item in SCREENS}
    BINDINGS: ClassVar[list[Binding]] = [
        *(bind(f"app.screen.{item.name}", item.key, f"goto('{item.name}')", item.title, show=False) for item in SCREENS),
        bind("app.help", "question_mark", "help", "Help"),
        bind("app.quit", "q", "quit", "Quit"),
        bind("app.back", "escape", "back", "Back", show=False),
    ]

    def __init__(self, workspace: Workspace, settings: Settings | None = None) -> None:
        if settings is None:
            from engine.config import settings as load

            settings = load()
        self.workspace = workspace
        self.settings = settings
        self.bridge = EngineBridge()
        self._executors: dict[str, Executor] = {}
        super().__init__()
        self.set_keymap(clean_keymap(settings.keymap))
        self._warned_clash = False

    # -- lifecycle -----------------------------------------------------------
    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            self.notify(f"config: theme {self.settings.theme!r} is unknown; using {self.theme}", severity="warning")
        for problem in keymap_problems(self.settings.keymap):
            self.notify(problem, severity="warning")
        start = self.settings.start_screen
        if start != self.DEFAULT_MODE:
            if start in self.MODES:
                self.switch_mode(start)
            else:
                self.notify(f"config: start_screen {start!r} is not one of {', '.join(self.MODES)}", severity="warning")

    async def on_unmount(self) -> None:
        executors = list(self._executors.values())
        if executors:
            with contextlib.suppress(Exception):  # closing must never block exit
                await self.bridge.run(_close_all(executors))
        self.bridge.close()

    # -- the engine ------------------------------------------------------------
    async def engine(self, fn: Callable[[Executor], Awaitable[T]], host: str | None = None) -> T:
        """Run ``fn(executor)`` on the engine thread, with the executor for ``host`` (local by default)."""
        return await self.bridge.run(self._with_executor(fn, host or "local"))

    async def _with_executor(self, fn: Callable[[Executor], Awaitable[T]], host: str) -> T:
        executor = self._executors.get(host)
        if executor is None:
            from engine.executors.factory import executor_for

            executor = self._executors[host] = executor_for(self.workspace, host)
        return await fn(executor)

    # -- actions -------------------------------------------------------------
    def action_goto(self, name: str) -> None:
        if isinstance(self.screen, ModalScreen):
            self.pop_screen()
        self.switch_mode(name)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, bindings_of

        if isinstance(self.screen, ModalScreen):
            return
        title = getattr(self.screen, "SCREEN_NAME", "") or type(self.screen).__name__
        self.push_screen(HelpScreen(title.title(), bindings_of(self.screen)))

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: Any) -> None:
        if not self._warned_clash:
            self._warned_clash = True
            names = ", ".join(sorted(b.id or b.action for b in clashed_bindings))
            self.notify(f"config: keymap gives one key to several actions ({names})", severity="warning")


async def _close_all(executors: list[Executor]) -> None:
    for executor in executors:
        await executor.close()


def run_app(workspace: Workspace) -> None:
    """Entry point used by ``tailor`` with no subcommand."""
    from engine.config import settings

    TailorApp(workspace, settings()).run()
