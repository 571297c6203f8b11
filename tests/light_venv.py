"""A light install of Tailor in a fresh venv, offline and in seconds: the wheel that ``tailor hosts setup``
builds from this tree (``pip wheel --no-deps``) installed with ``--no-deps``, and its light dependencies (the wheel's own
``Requires-Dist`` without extras, followed transitively) linked in from the distributions installed in
this test venv. So the venv holds exactly what ``pip install tailor-tui`` would bring, and nothing of the
training stack: importing torch there fails as on a laptop that never installed it."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tailor.engine.remote.bootstrap import build_wheel


def requirements(wheel: Path) -> list[Requirement]:
    """The wheel's dependencies without any extra: what ``pip install tailor-tui`` brings."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(name))
    reqs = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def closure(reqs: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions that satisfy ``reqs``, with their own dependencies (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(reqs)
    while todo:
        req = todo.pop()
        key = req.name.lower().replace("_", "-")
        if key in found:
            continue
        dist = metadata.distribution(req.name)
        found[key] = dist
        todo += [r for r in map(Requirement, dist.requires or [])
                 if r.marker is None or r.marker.evaluate({"extra": ""})]
    return list(found.values())


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH (which would put a source tree before the venv's install)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return env | extra


def light_venv(root: Path) -> Path:
    """A venv under ``root`` with the light install of this tree; returns its ``bin/`` folder."""
    wheel = build_wheel(root / "wheel")  # the same wheel `tailor hosts setup` uploads
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, text=True, env=clean_env())
    site = next((venv / "lib").glob("python3*/site-packages"))
    for dist in closure(requirements(wheel)):
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts and byte code: not needed to import the package
            target = site / file
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(Path(str(dist.locate_file(file))).resolve())
    return venv / "bin"
