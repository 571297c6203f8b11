"""TailorApp: the shell. One Textual mode per registered screen, app-wide keys, palette, keymap, theme.

Start-up is kept light: screens are imported on first visit (the start screen at once), and engine
modules (executors, recipes) are imported on the engine thread (tui/bridge.py) after the first paint.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen
from textual.signal import Signal

from tailor.tui.bridge import EngineBridge
from tailor.tui.keymap import bind, clean_keymap, keymap_problems
from tailor.tui.screens import SCREENS
from tailor.tui.screens.placeholder import load_screen

if TYPE_CHECKING:
    from tailor.engine.api.executors import Executor
    from tailor.engine.api.workspace import Settings, Workspace
    from tailor.tui.context import TailorContext

T = TypeVar("T")
FIRST_PAINT_FALLBACK_S = 0.3
CLOSE_TIMEOUT_S = 3.0


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
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    COMMANDS = App.COMMANDS | {TailorCommands}
    DEFAULT_MODE = "runs"
    MODES: ClassVar[dict[str, Any]] = {item.name: partial(load_screen, item) for item in SCREENS}
    BINDINGS: ClassVar[list[BindingType]] = [
        *(bind(f"app.screen.{item.name}", item.key, f"goto('{item.name}')", item.title, show=False) for item in SCREENS),
        bind("app.help", "question_mark", "help", "Help"),
        bind("app.quit", "q", "quit", "Quit"),
        bind("app.back", "escape", "back", "Back", show=False),
    ]

    def __init__(self, workspace: Workspace | Callable[[], Workspace], settings: Settings | None = None) -> None:
        """``workspace`` may be a loader: then it and the settings load just after the first paint.

        (pydantic, which both need, costs about a third of the start-up; the first frame needs neither.)
        """
        self._workspace: Workspace | None = None if callable(workspace) else workspace
        self._workspace_loader = workspace if callable(workspace) else None
        self._settings: Settings | None = settings
        self._env_lock = threading.RLock()
        self.bridge = EngineBridge()
        self._executors: dict[str, Executor] = {}
        self._warned_clash = False
        self._configured = False
        self._painted = False
        self.startup_error: BaseException | None = None
        self._after_paint: list[Callable[[], Any]] = []
        super().__init__()
        #: Published once the settings and workspace are loaded (screens start their work then).
        self.environment_signal: Signal[Any] = Signal(self, "environment")

    # -- workspace and settings (loaded on first use, from any thread) ----------
    @property
    def settings(self) -> Settings:
        with self._env_lock:
            if self._settings is None:
                from tailor.engine.api.workspace import settings as load

                self._settings = load()
            return self._settings

    @property
    def workspace(self) -> Workspace:
        with self._env_lock:
            if self._workspace is None:
                assert self._workspace_loader is not None
                self._workspace = self._workspace_loader()
            return self._workspace

    @property
    def loaded_workspace(self) -> Workspace | None:
        """The workspace if already loaded (never loads it: safe to call while painting)."""
        return self._workspace

    @property
    def environment_ready(self) -> bool:
        return self._workspace is not None and self._settings is not None

    @work(thread=True, group="app.environment", exit_on_error=False)
    def _load_environment(self) -> None:
        try:
            _ = self.settings, self.workspace
        except Exception as exc:  # a bad config or workspace ends the app; run_app re-raises
            self.startup_error = exc  # for the CLI's one-line `error: ...` once the terminal is restored
            self.call_from_thread(self.exit, None, 2)
            return
        self.call_from_thread(self._configure)

    # -- lifecycle -----------------------------------------------------------
    def on_mount(self) -> None:
        if self.environment_ready:
            self._configure()
        else:
            self.after_first_paint(self._load_environment)

    def after_first_paint(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the first frame is on the terminal (now, if it already is).

        Start-up work that would compete with the first paint for the GIL (imports in threads,
        secondary widgets) waits here.
        """
        if self._painted:
            callback()
        else:
            self._after_paint.append(callback)

    def on_ready(self) -> None:
        # Textual posts Ready when the first frame is composed, a moment before it is written out;
        # post_display_hook (after a write) runs the callbacks; the timer covers a display-less start.
        self._dom_is_ready = True
        self.set_timer(FIRST_PAINT_FALLBACK_S, self._first_paint_done)

    def post_display_hook(self) -> None:
        if getattr(self, "_dom_is_ready", False) and not self._painted:
            self.call_later(self._first_paint_done)

    def _first_paint_done(self) -> None:
        if self._painted:
            return
        self._painted = True
        callbacks, self._after_paint = self._after_paint, []
        for callback in callbacks:
            callback()

    def _configure(self) -> None:
        """Apply the settings (theme, keymap, start screen) once they are known."""
        if self._configured:
            return
        self._configured = True
        settings = self.settings
        tui = settings.tui
        for note in settings.notes:  # old flat keys: `theme` is now `tui.theme`...
            self.notify(note, severity="warning")
        if tui.keymap:  # (refreshing bindings recomposes the footer: only when there is a keymap)
            self.set_keymap(clean_keymap(tui.keymap))
        if tui.theme in self.available_themes:
            if tui.theme != self.theme:
                self.theme = tui.theme
        else:
            self.notify(f"config: tui.theme {tui.theme!r} is unknown; using {self.theme}", severity="warning")
        for problem in keymap_problems(tui.keymap):
            self.notify(problem, severity="warning")
        self.environment_signal.publish(settings)
        start = tui.start_screen
        if start != self.DEFAULT_MODE:
            if start in self.MODES:
                self.switch_mode(start)
            else:
                self.notify(f"config: tui.start_screen {start!r} is not one of {', '.join(self.MODES)}", severity="warning")

    async def on_unmount(self) -> None:
        executors = list(self._executors.values())
        if executors:
            with contextlib.suppress(Exception):  # closing must never block exit (nor take long)
                await asyncio.wait_for(self.bridge.run(_close_all(executors)), CLOSE_TIMEOUT_S)
        self.bridge.close()

    # -- the engine ------------------------------------------------------------
    async def engine(self, fn: Callable[[Executor], Awaitable[T]], host: str | None = None) -> T:
        """Run ``fn(executor)`` on the engine thread, with the executor for ``host`` (local by default)."""
        return await self.bridge.run(self._with_executor(fn, host or "local"))

    async def _with_executor(self, fn: Callable[[Executor], Awaitable[T]], host: str) -> T:
        executor = self._executors.get(host)
        if executor is None:
            from tailor.engine.api.executors import executor_for

            executor = self._executors[host] = executor_for(self.workspace, host)
        return await fn(executor)

    # -- actions -------------------------------------------------------------
    def action_goto(self, name: str) -> None:
        if isinstance(self.screen, ModalScreen):
            self.pop_screen()
        self.switch_mode(name)

    def action_help(self) -> None:
        from tailor.tui.screens.help import HelpScreen, bindings_of

        if isinstance(self.screen, ModalScreen):
            return
        title = getattr(self.screen, "SCREEN_NAME", "") or type(self.screen).__name__
        self.push_screen(HelpScreen(title.title(), bindings_of(self.screen)))

    def action_back(self) -> None:  # type: ignore[override]  # sync here; Textual awaits either
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: Any) -> None:
        if not self._warned_clash:
            self._warned_clash = True
            names = ", ".join(sorted(b.id or b.action for b in clashed_bindings))
            self.notify(f"config: keymap gives one key to several actions ({names})", severity="warning")


if TYPE_CHECKING:  # screens see the app as TailorContext (tui/context.py): mypy checks TailorApp provides it
    _provides_context: type[TailorContext] = TailorApp


async def _close_all(executors: list[Executor]) -> None:
    for executor in executors:
        await executor.close()


def run_app(workspace: Workspace | Callable[[], Workspace]) -> None:
    """Entry point used by ``tailor`` with no subcommand: a Workspace, or a function that opens one.

    Given a function, the first frame is painted before the workspace and settings are loaded.
    """
    app = TailorApp(workspace)
    app.run()
    if app.startup_error is not None:
        raise app.startup_error  # the CLI prints it as one line (`error: ...`) and exits 2
    if app.return_code:
        sys.exit(app.return_code)
