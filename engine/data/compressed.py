"""Compressed text data files (gzip, zstd) read as streams, so ``.jsonl.gz`` hub dumps need no unpacking."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import BinaryIO

from tailor.engine.data.records import compression_of
from tailor.engine.errors import DataError, permission_denied

# What a truncated or corrupt stream raises, per library.
STREAM_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


def open_stream(path: Path) -> BinaryIO:
    """The decompressed bytes of ``path`` (plain files are opened as they are)."""
    comp = compression_of(path)
    if comp == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if comp == "zstd":
        import zstandard

        raw = path.open("rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return path.open("rb")


def stream_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return (*STREAM_ERRORS, zstandard.ZstdError)
    except ImportError:  # pragma: no cover - a dependency
        return STREAM_ERRORS


def bad_stream(path: Path, exc: BaseException) -> DataError:
    if isinstance(exc, PermissionError):  # a mode-000 file is not a damaged download
        return DataError(permission_denied(path))
    what = {"gzip": "gzip", "zstd": "zstd"}.get(compression_of(path) or "", "compressed")
    return DataError(
        f"{path}: not a readable {what} file ({' '.join(str(exc).split())[:120]}); "
        f"check the download or unpack it by hand"
    )


def read_all(path: Path) -> bytes:
    """The whole decompressed file."""
    try:
        with open_stream(path) as fh:
            return fh.read()
    except stream_errors() as exc:
        raise bad_stream(path, exc) from None
