"""A RowSource whose rows pass through a mapping (a ``dataset_info.json`` entry's columns and tags)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tailor.engine.data.browse import RowSource
from tailor.engine.data.records import Record


class MappedSource(RowSource):
    def __init__(
        self, base: RowSource, apply: Callable[[dict[str, Any]], dict[str, Any]], label: str
    ) -> None:
        self.base, self.apply, self.label = base, apply, label

    def _map(self, rec: Record) -> Record:
        return Record(self.apply(rec.data), rec.loc) if rec.data is not None else rec

    def start(self) -> MappedSource:
        self.base.start()
        return self

    @property
    def done(self) -> bool:  # type: ignore[override]
        return self.base.done

    @property
    def error(self) -> str | None:  # type: ignore[override]
        return self.base.error

    @property
    def progress(self) -> float:
        return self.base.progress

    def wait(self, timeout: float | None = None) -> bool:
        return self.base.wait(timeout)

    def __len__(self) -> int:
        return len(self.base)

    def record(self, i: int) -> Record:
        return self._map(self.base.record(i))

    def records(self, start: int, count: int) -> list[Record]:
        return [self._map(r) for r in self.base.records(start, count)]

    def iter_records(self) -> Iterator[Record]:
        return (self._map(r) for r in self.base.iter_records())

    def close(self) -> None:
        self.base.close()


def open_entry(spec: str) -> MappedSource | None:
    """A started source for ``…/dataset_info.json#name``; None for any other path."""
    from tailor.engine.data.browse import source_for_file
    from tailor.engine.data.registry import find, split_spec

    parts = split_spec(spec)
    if parts is None:
        return None
    entry = find(*parts)
    assert entry.file is not None  # find() refuses entries without a local file
    return MappedSource(source_for_file(entry.file), entry.transform(), spec).start()
