"""Damaged event lines: the lines of events.jsonl that every reader skips, said once, never silently
(``3 damaged event lines skipped (line 17, 22, 40)``, docs/run-contract.md).

Finding them parses the whole file, a few milliseconds a run; ``tailor runs --json`` asks for every run
of the workspace, so ``DamageCache`` keeps each file's verdict under its size and mtime in
``cache_dir()/damaged-events.json`` (a finished run's events never change).
"""

from __future__ import annotations

import json
from pathlib import Path

from tailor.engine.runs.events import check_event


def damaged_lines(path: Path, *, complete: bool = False) -> list[int]:
    """1-based numbers of the lines every reader skips: not JSON, not fitting the contract, or longer
    than a read. ``complete``: the file is finished (its run ended), so a last line without its newline
    is damaged too, not one being written."""
    out: list[int] = []
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return out
    with fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                if complete and line.strip():
                    out.append(number)
                break
            if not line.strip():
                continue
            if len(line) > 8 * 1024 * 1024:
                out.append(number)
                continue
            try:
                event = check_event(json.loads(line))
            except (ValueError, RecursionError):
                event = None
            if event is None:
                out.append(number)
    return out



class DamageCache:
    """``damaged_lines`` per file, remembered under (size, mtime, complete); ``save()`` writes it back."""

    def __init__(self, file: Path | None = None) -> None:
        from tailor.engine.config import cache_dir

        self.file = file or cache_dir() / "damaged-events.json"
        try:
            loaded = json.loads(self.file.read_text())
        except (OSError, ValueError):
            loaded = {}
        self._known: dict[str, list] = loaded if isinstance(loaded, dict) else {}
        self._dirty = False

    def lines(self, path: Path, *, complete: bool = False) -> list[int]:
        try:
            st = path.stat()
        except OSError:
            return []
        stamp = [st.st_size, st.st_mtime_ns, complete]
        known = self._known.get(str(path))
        if isinstance(known, list) and len(known) == 2 and known[0] == stamp:
            return list(known[1])
        found = damaged_lines(path, complete=complete)
        self._known[str(path)] = [stamp, found]
        self._dirty = True
        return found

    def save(self) -> None:
        if not self._dirty:
            return
        from tailor.engine.fsutil import atomic_write_text

        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.file, json.dumps(self._known))
        except OSError:
            pass  # a cache: the next listing parses again
        self._dirty = False
