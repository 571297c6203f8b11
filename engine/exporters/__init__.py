"""Export targets beyond the Hugging Face folder (engine/export.py): GGUF, Ollama, vLLM, the Hub, model cards.

Each module is light at import (heavy libraries inside functions) and raises ``ExportError`` (a
``TailorError``: one line, no traceback) for anything the user can fix. ``tailor.engine.exporters.targets``
strings them together for ``tailor export`` and the TUI's export dialog.
"""
