"""Upload a recipe's local data files into the host's content-addressed store and rewrite the paths.

Each data source (a file, a folder or a glob) becomes a *tree*: its files with their sha256. The tree's
own hash names its folder on the host, ``store/<tree>/<name>``; a tree already there is skipped
entirely, so an unchanged dataset is never uploaded twice. Uploads go to ``store/<tree>.part`` and the
host verifies every file's hash before renaming it into place.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from tailor.engine.errors import DataError
from tailor.engine.remote.connection import HostConnection
from tailor.engine.remote.server import sha256_file

MAGIC = "*?["
PRIVATE_DIR = asyncssh.SFTPAttrs(permissions=0o700)


@dataclass
class Tree:
    source: str  # the path as written in the recipe (absolute, local)
    base: Path  # local folder the files are relative to
    name: str  # top-level name inside the tree folder
    suffix: str  # what follows the name in the rewritten path (a glob's pattern part)
    files: list[tuple[str, Path, str]] = field(default_factory=list)  # (rel, local path, sha256)

    @property
    def digest(self) -> str:
        listing = [(rel, sha) for rel, _, sha in self.files]
        return hashlib.sha256(json.dumps([self.name, self.suffix, listing]).encode()).hexdigest()

    def remote_path(self, store: str) -> str:
        return f"{store}/{self.digest}/{self.name}{self.suffix}"


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)  # sources sent
    skipped: list[str] = field(default_factory=list)  # sources already on the host
    bytes_sent: int = 0
    paths: dict[str, str] = field(default_factory=dict)  # local -> remote


def tree_for(source: str) -> Tree | None:
    """The files behind one data path; None for something that is not local (a hub id)."""
    if any(c in source for c in MAGIC):
        parts = Path(source).parts
        fixed = next(i for i, p in enumerate(parts) if any(c in p for c in MAGIC))
        root = Path(*parts[:fixed])
        matches = [Path(m) for m in sorted(glob.glob(source, recursive=True)) if Path(m).is_file()]
        if not matches:
            raise DataError(f"{source}: the pattern matches no file")
        tree = Tree(source, root.parent, root.name, "/" + "/".join(parts[fixed:]))
        for m in matches:
            tree.files.append((str(m.relative_to(root.parent)), m, sha256_file(m)))
        return tree
    path = Path(source)
    if path.is_file():
        return Tree(source, path.parent, path.name, "", [(path.name, path, sha256_file(path))])
    if path.is_dir():
        tree = Tree(source, path.parent, path.name, "")
        for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
            tree.files.append((str(f.relative_to(path.parent)), f, sha256_file(f)))
        return tree
    return None


def data_paths(recipe: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every ``path`` of a data source in a dumped recipe (nested recipes, e.g. a search's base, too), and of
    a GRPO recipe's reward files (``rewards: [{path: ...}]``): they travel to the host like the data."""
    found: list[tuple[dict[str, Any], str]] = []

    def walk(node: Any, in_data: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if in_data and key == "path" and isinstance(value, str) and value.startswith("/"):
                    found.append((node, value))
                else:
                    walk(value, in_data or key in ("data", "train", "eval", "rewards"))
        elif isinstance(node, list):
            for item in node:
                walk(item, in_data)

    walk(recipe, False)
    return found


async def sync_data(conn: HostConnection, recipe: dict[str, Any], store: str) -> SyncReport:
    """Upload what the host lacks and rewrite ``recipe``'s data paths (in place) to the host's copies."""
    report = SyncReport()
    trees: dict[str, Tree] = {}
    for _node, source in data_paths(recipe):
        if source not in trees:
            tree = tree_for(source)
            if tree is not None:
                trees[source] = tree
    if not trees:
        return report
    answer = await conn.op("store", payload={"check": sorted({t.digest for t in trees.values()})})
    missing = set(answer["missing"])
    sent: set[str] = set()
    commits = []
    if missing:
        sftp = await (await conn.get()).start_sftp_client()
        try:
            for tree in trees.values():
                if tree.digest not in missing or tree.digest in sent:
                    continue
                part = f"{store}/{tree.digest}.part"
                for rel, local, _sha in tree.files:
                    target = f"{part}/{rel}"
                    # sftp-server creates with its own umask (often 022): the store is made private here
                    await sftp.makedirs(target.rsplit("/", 1)[0], attrs=PRIVATE_DIR, exist_ok=True)
                    await sftp.put(str(local), target)
                    await sftp.chmod(target, 0o600)
                    report.bytes_sent += local.stat().st_size
                sent.add(tree.digest)
                commits.append(
                    {"tree": tree.digest, "files": [{"rel": r, "sha256": s} for r, _, s in tree.files]}
                )
        finally:
            sftp.exit()
        result = await conn.op("store", payload={"commit": commits})
        if result["bad"]:
            raise DataError(
                f"{conn.name}: upload of {', '.join(result['bad'][:3])} did not verify; launch again"
            )
    for tree in trees.values():
        (report.uploaded if tree.digest in sent else report.skipped).append(tree.source)
        report.paths[tree.source] = tree.remote_path(store)
    for node, source in data_paths(recipe):
        if source in report.paths:
            node["path"] = report.paths[source]
    return report
