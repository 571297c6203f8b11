"""Export a run's model: to a folder, the hub or GGUF (``export`` picks the target)."""

from tailor.engine.exporters.targets import export

__all__ = ["export"]
