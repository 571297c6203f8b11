"""The workspace and settings: open a workspace, read the user's settings, write files atomically."""

from tailor.engine.config import Settings, settings
from tailor.engine.fsutil import atomic_write_text
from tailor.engine.workspace import Workspace, open_workspace

__all__ = ["Settings", "Workspace", "atomic_write_text", "open_workspace", "settings"]
