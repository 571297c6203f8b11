"""Hugging Face hub datasets: loaded through ``datasets`` when the hub is reachable (or cached)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from tailor.engine.data.records import Loc, Record
from tailor.engine.errors import TRAIN_EXTRA, DataError


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or os.environ.get(
        "HF_DATASETS_OFFLINE", "0"
    ).lower() in ("1", "true", "yes")


def offline_message(hub_id: str, why: str) -> str:
    return (
        f"{hub_id}: cannot reach the Hugging Face hub ({why}); download the dataset on a machine with a network "
        f"(`datasets` caches it) or point path: at local files"
    )


def load_hub(hub_id: str, *, subset: str | None = None, split: str | None = None):  # -> datasets.Dataset
    """A hub dataset's split as a ``datasets.Dataset``; one-line DataError when offline or missing."""
    try:
        import datasets
    except ImportError:  # a light install (datasets comes with the training stack)
        raise DataError(f"{hub_id}: hub datasets need the `datasets` package: {TRAIN_EXTRA}") from None
    split = split or "train"
    try:
        ds = datasets.load_dataset(hub_id, subset, split=split)
    except Exception as exc:  # datasets raises many kinds; all become one line
        text = " ".join(str(exc).split())
        name = exc.__class__.__name__
        if (
            offline()
            or "offline" in text.lower()
            or "connection" in (text + name).lower()
            or "resolve" in text.lower()
        ):
            why = "HF_HUB_OFFLINE is set" if offline() else f"{name}"
            raise DataError(offline_message(hub_id, why)) from None
        if "doesn't exist" in text or "not found" in text.lower() or "FileNotFound" in name:
            raise DataError(
                f"{hub_id}: no such dataset on the hub (or it is private; set HF_TOKEN)"
            ) from None
        if "split" in text.lower():
            raise DataError(f"{hub_id}: no split '{split}' ({text[:160]})") from None
        raise DataError(f"{hub_id}: cannot load from the hub: {name}: {text[:200]}") from None
    if isinstance(ds, datasets.IterableDataset):  # pragma: no cover - we never ask for streaming
        raise DataError(f"{hub_id}: streaming datasets are not supported")
    return ds


def hub_records(
    hub_id: str, *, subset: str | None = None, split: str | None = None, limit: int | None = None
) -> Iterator[Record]:
    ds = load_hub(hub_id, subset=subset, split=split)
    n = len(ds) if limit is None else min(limit, len(ds))
    for start in range(0, n, 1000):
        batch = ds[start : min(n, start + 1000)]
        keys = list(batch)
        for i in range(len(batch[keys[0]]) if keys else 0):
            yield Record({k: batch[k][i] for k in keys}, Loc(hub_id, row=start + i + 1))


def hub_table(hub_id: str, *, subset: str | None = None, split: str | None = None):  # -> pyarrow.Table
    """The Arrow table behind a hub dataset, for the browser's paging."""
    return load_hub(hub_id, subset=subset, split=split).data.table
