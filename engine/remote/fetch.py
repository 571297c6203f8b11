"""Fetch a remote run's artefacts into its local mirror: resumable, verified by sha256.

The host lists the files with their hashes (``manifest``). A file whose local copy already has the
right hash is skipped; otherwise it is downloaded into ``<file>.part``, continuing from the bytes
already there (a dropped connection costs only the rest), checked against the hash, then renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

from tailor.engine.errors import HostError
from tailor.engine.executors.base import FetchReport
from tailor.engine.recipes.trackers import TRACKER_DIRS
from tailor.engine.remote.connection import HostConnection, HostUnreachable
from tailor.engine.remote.server import sha256_file

CHUNK = 1024 * 1024
#: What a fetch may write into a mirror: artefacts, tracker stores kept in the run and logs. Never
#: status.json, remote.json or recipe.yaml (the mirror's own, with local paths), whatever the host lists.
FETCH_DIRS = ("adapter", "checkpoints", "eval", *TRACKER_DIRS)
FETCH_FILES = ("stdout.log", "stderr.log")
#: What a manifest lists and a fetch leaves alone by design: mirrored seq by seq, or the mirror's own.
MIRRORED = ("status.json", "events.jsonl", "recipe.yaml")


def fetchable(rel: str) -> bool:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in rel:
        return False
    return (len(parts) > 1 and parts[0] in FETCH_DIRS) or (len(parts) == 1 and rel in FETCH_FILES)


async def fetch_run(conn: HostConnection, run_id: str, dest: Path, *, attempts: int = 5) -> FetchReport:
    report = FetchReport(dest)
    manifest = await conn.op("manifest", run_id, timeout=None)
    remote_root = manifest["path"]
    for item in manifest["files"]:
        rel = item["path"]
        if isinstance(rel, str) and rel in MIRRORED:
            continue
        if not isinstance(rel, str) or not fetchable(rel):
            report.refused.append(str(rel)[:200])  # never written here; the caller names the host for it
            continue
        local = _safe_join(dest, rel)
        if local.is_file() and local.stat().st_size == item["size"] and sha256_file(local) == item["sha256"]:
            report.skipped.append(rel)
            continue
        for attempt in range(attempts):
            try:
                report.bytes += await _download(conn, f"{remote_root}/{rel}", local, item["size"])
                break
            except HostUnreachable:
                if attempt == attempts - 1:
                    raise
        digest = sha256_file(local.with_name(local.name + ".part"))
        if digest != item["sha256"] and not item.get("live"):
            local.with_name(local.name + ".part").unlink(missing_ok=True)
            raise HostError(
                f"{conn.name}: {rel} arrived with sha256 {digest[:12]}..., expected {item['sha256'][:12]}...; fetch again"
            )
        os.replace(local.with_name(local.name + ".part"), local)
        report.fetched.append(rel)
    return report


async def _download(conn: HostConnection, remote: str, local: Path, size: int) -> int:
    """Append the missing tail of ``remote`` to ``local.part``; returns the bytes received."""
    import asyncssh

    part = local.with_name(local.name + ".part")
    local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    got = 0
    try:
        sftp = await (await conn.get()).start_sftp_client()
        try:
            async with sftp.open(remote, "rb") as src:
                await src.seek(have)
                fd = os.open(part, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    while chunk := await src.read(CHUNK):
                        os.write(fd, chunk)  # type: ignore[arg-type]  # bytes: the file is opened in binary mode
                        got += len(chunk)
                finally:
                    os.close(fd)
        finally:
            sftp.exit()
    except (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection):
        conn.drop()  # the SFTP channel closed under us: a lost connection, retried like one
        raise HostUnreachable(f"{conn.name}: connection lost while fetching {remote}") from None
    except asyncssh.SFTPError as exc:
        raise HostError(f"{conn.name}: cannot read {remote}: {exc.reason}") from None
    except (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.ChannelOpenError, OSError):
        conn.drop()
        raise HostUnreachable(f"{conn.name}: connection lost while fetching {remote}") from None
    return got


def _safe_join(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if not str(path).startswith(str(root.resolve()) + os.sep):
        raise HostError(f"refusing to write {rel!r} outside {root}")
    return path
