"""The forms a search's ``storage:`` URL may take, checked when the recipe loads (not whether it can be
reached: engine/search/storage.py opens it)."""

from __future__ import annotations

import re

RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql", "cockroachdb")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")
_FORMS = "use sqlite:///PATH.db, an RDB URL such as postgresql://user@host/db, or journal:PATH"


def storage_kind(url: str) -> str:
    """``sqlite``, ``rdb`` or ``journal`` for a URL or path (raises ValueError when it is none of them)."""
    text = url.strip()
    if text.startswith("journal:"):
        return "journal"
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if m:
        scheme = m.group(1).split("+")[0].lower()
        if scheme == "sqlite":
            return "sqlite"
        if scheme in RDB_SCHEMES:
            return "rdb"
        raise ValueError(f"unknown storage scheme {scheme!r}: {_FORMS}")
    if text.endswith(SQLITE_SUFFIXES):
        return "sqlite"
    if text.endswith(JOURNAL_SUFFIXES):
        return "journal"
    raise ValueError(f"cannot tell what storage {url!r} is: {_FORMS}")


def check_storage_url(url: str) -> None:
    """Validate the form of a storage URL (not whether it can be reached). Raises ValueError."""
    if not url.strip():
        raise ValueError(f"is empty: {_FORMS}")
    kind = storage_kind(url)
    if kind == "journal" and not url.strip().removeprefix("journal:").strip():
        raise ValueError("journal: needs a file path, e.g. journal:/shared/studies.log")
    if kind == "sqlite" and url.strip() in ("sqlite://", "sqlite:///", "sqlite:///:memory:"):
        raise ValueError("an in-memory SQLite study would vanish with its worker; give a file, e.g. sqlite:///studies.db")
