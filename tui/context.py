"""What screens and widgets may ask of the Tailor app, typed: ``self.tailor`` on any node with ``AppAccess``.

``TailorContext`` states the app's services (the engine thread, the executors, the workspace and settings,
the environment signal, going to a screen); ``TailorApp`` (tui/app.py) provides them, which mypy checks
there. Screens depend on this module instead of tui/app.py because tui/app.py imports the screen registry
and, through ``load_screen``, the screens: importing ``TailorApp`` back, even for its type, would close an
import circle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from textual.signal import Signal

    from tailor.engine.api.executors import Executor
    from tailor.engine.api.workspace import Settings, Workspace
    from tailor.tui.bridge import EngineBridge

T = TypeVar("T")


class TailorContext(Protocol):
    """The Tailor app as screens and widgets use it (beside Textual's own ``App``, which ``self.app`` is)."""

    bridge: EngineBridge
    environment_signal: Signal[Any]

    @property
    def settings(self) -> Settings: ...

    @property
    def workspace(self) -> Workspace: ...

    @property
    def loaded_workspace(self) -> Workspace | None: ...

    @property
    def environment_ready(self) -> bool: ...

    async def engine(self, fn: Callable[[Executor], Awaitable[T]], host: str | None = None) -> T: ...

    def after_first_paint(self, callback: Callable[[], Any]) -> None: ...

    def action_goto(self, name: str) -> None: ...

    def action_back(self) -> None: ...


class AppAccess(MessagePump):
    """Mixed into every Tailor screen (modal or not) and widget that needs the app's services."""

    @property
    def tailor(self) -> TailorContext:
        """The running TailorApp, typed as what screens may use of it."""
        return cast("TailorContext", self.app)
