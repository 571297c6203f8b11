"""Host keys: verified against known_hosts, always. An unknown key needs an explicit trust step that
shows its fingerprint; a changed key is refused with a warning and never overwritten by Tailor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tailor.engine.errors import HostError

KeyState = Literal["trusted", "unknown", "changed"]


@dataclass
class HostKeyCheck:
    state: KeyState
    fingerprint: str  # of the key the server offers now
    key_type: str
    known_fingerprints: list[str]
    pattern: str  # the known_hosts host pattern: host, or [host]:port
    key: Any  # asyncssh.SSHKey


def host_pattern(hostname: str, port: int) -> str:
    return hostname if port == 22 else f"[{hostname}]:{port}"


def load_known_hosts(path: Path) -> Any:
    """The known_hosts file as asyncssh wants it; a missing file trusts nothing (never None)."""
    import asyncssh

    if path.is_file():
        return asyncssh.read_known_hosts(str(path))
    return asyncssh.import_known_hosts("")


def known_keys(path: Path, hostname: str, port: int) -> list[Any]:
    import asyncssh

    trusted, _ca, _revoked, *_ = asyncssh.match_known_hosts(load_known_hosts(path), hostname, hostname, port)
    return list(trusted)


async def check_host_key(path: Path, hostname: str, port: int, *, tunnel: Any = None) -> HostKeyCheck:
    """Ask the server for its host key (no login) and compare it with known_hosts."""
    import asyncssh

    known = known_keys(path, hostname, port)
    # Ask for a key of a type we already know, so a host with several keys is not called "changed".
    algs: tuple[str, ...] | list[str] = ()
    if known:
        algs = sorted({k.get_algorithm() for k in known})
    try:
        key = await _offered_key(hostname, port, tunnel, algs)
    except (OSError, asyncssh.Error) as exc:
        if not algs:
            raise HostError(
                f"{hostname}:{port}: cannot reach the SSH server to read its host key: {why(exc)}"
            ) from None
        # The server offers none of the key types we know: ask for any key. If that works, the key
        # changed type (ed25519 -> ecdsa), which is reported as a changed key, not as a dead link.
        try:
            key = await _offered_key(hostname, port, tunnel, ())
        except (OSError, asyncssh.Error):
            raise HostError(
                f"{hostname}:{port}: cannot reach the SSH server to read its host key: {why(exc)}"
            ) from None
    if key is None:
        raise HostError(f"{hostname}:{port}: the server offered no host key")
    fingerprint = key.get_fingerprint("sha256")
    known_fps = list(dict.fromkeys(k.get_fingerprint("sha256") for k in known))  # each shown once
    if fingerprint in known_fps:
        state: KeyState = "trusted"
    elif known:
        state = "changed"
    else:
        state = "unknown"
    return HostKeyCheck(state, fingerprint, key.get_algorithm(), known_fps, host_pattern(hostname, port), key)


async def _offered_key(hostname: str, port: int, tunnel: Any, algs: Any) -> Any:
    import asyncssh

    return await asyncssh.get_server_host_key(
        hostname, port, tunnel=tunnel or (), server_host_key_algs=algs or (), config=[]
    )


def trust(path: Path, check: HostKeyCheck) -> None:
    """Append the offered key to known_hosts (an unknown host only; a changed key is refused)."""
    if check.state == "trusted":
        return
    if check.state == "changed":
        raise HostError(changed_message(path, check))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{check.pattern} {check.key.export_public_key('openssh').decode().strip()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if data and not data.endswith(b"\n"):
            os.write(fd, b"\n")
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def unknown_message(name: str, path: Path, check: HostKeyCheck) -> str:
    return (
        f"{name}: host key of {check.pattern} is not in {path} ({check.key_type} {check.fingerprint}); "
        f"check the fingerprint with the host's owner, then run `tailor hosts trust {name}`"
    )


def changed_message(path: Path, check: HostKeyCheck) -> str:
    known = ", ".join(check.known_fingerprints)
    return (
        f"WARNING: HOST KEY OF {check.pattern} HAS CHANGED: it offers {check.key_type} {check.fingerprint} "
        f"but {path} has {known}; someone may be intercepting the connection, so Tailor refuses to connect. "
        f"If the host was really reinstalled, remove the old key with "
        f"`ssh-keygen -R '{check.pattern}' -f {path}` and trust it again"
    )


def why(exc: BaseException) -> str:
    """A short reason for a connection failure."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(getattr(exc, "reason", "") or exc)
    return " ".join(text.split()) or type(exc).__name__
