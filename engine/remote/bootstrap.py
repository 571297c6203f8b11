"""``tailor hosts setup H``: a Python environment on the host with this exact Tailor version.

1. Build a wheel from the local source tree (``pip wheel --no-deps``, in a temporary copy so parallel
   builds never share a build/ folder). A Tailor installed from a wheel installs ``tailor-tui==V`` there.
2. Create ``<workdir>/venv`` with ``setup.python`` (``--system-site-packages`` when asked: hosts whose
   torch/CUDA come with the system), unless ``python:`` names an existing interpreter.
3. Upload the wheel over SFTP and ``pip install`` it with the ``train`` extra (the training stack the
   workers import; a light install, ``pip install tailor-tui``, only drives hosts); dependencies come from
   the host's package index (``setup.pip_args`` can point elsewhere), then verify with
   ``python -m tailor.engine.remote info``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tailor import engine
from tailor.engine.errors import HostError
from tailor.engine.remote.connection import HostConnection
from tailor.engine.worker.launch import REPO_ROOT

#: The extra a host installs: the workers train, search, evaluate and chat there.
EXTRA = "[train]"
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "tailor")  # tailor/ links to engine/, tui/, recipes/


def source_tree() -> Path | None:
    """The local source tree this Tailor runs from, if it is one (an editable install or a clone)."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "tailor" / "engine").is_dir() else None


def build_wheel(dest: Path) -> Path:
    src = source_tree()
    if src is None:
        raise HostError(
            "no local source tree to build a wheel from; the host will install tailor-tui from its index"
        )
    with tempfile.TemporaryDirectory(prefix="tailor-wheel-") as tmp:
        copy = Path(tmp) / "src"
        copy.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
        for name in SOURCES:
            item = src / name
            if item.is_dir():
                shutil.copytree(item, copy / name, ignore=ignore)
            elif item.is_file():
                shutil.copy2(item, copy / name)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dest),
            str(copy),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-1:])
            raise HostError(f"building the Tailor wheel failed: {tail}")
    wheels = sorted(dest.glob("tailor_tui-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise HostError(f"building the Tailor wheel produced nothing in {dest}")
    return wheels[-1]


async def setup_host(conn: HostConnection, *, say: Callable[[str], Any] = lambda _m: None) -> dict[str, Any]:
    """Prepare the host; return its ``info`` answer (Python, Tailor version, workspace)."""
    host = conn.host
    await conn.get()
    workdir = conn.expand(host.workdir)
    python = conn.python
    if host.python is None:
        venv = f"{workdir}/venv"
        check = await conn.run(["test", "-x", f"{venv}/bin/python"], env=False)
        if check.exit_status != 0:
            say(f"creating {venv} with {host.setup.python}")
            await _ok(conn, ["mkdir", "-p", "-m", "700", workdir])
            argv = [host.setup.python, "-m", "venv"] + (
                ["--system-site-packages"] if host.setup.system_site_packages else []
            )
            await _ok(conn, [*argv, venv], timeout=300)
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    src = source_tree()
    if src is not None:
        with tempfile.TemporaryDirectory(prefix="tailor-dist-") as tmp:
            say(f"building a wheel of Tailor {engine.__version__} from {src}")
            wheel = build_wheel(Path(tmp))
            remote_wheel = f"{workdir}/wheels/{wheel.name}"
            await _ok(conn, ["mkdir", "-p", "-m", "700", f"{workdir}/wheels"])
            say(f"uploading {wheel.name}")
            sftp = await (await conn.get()).start_sftp_client()
            try:
                await sftp.put(str(wheel), remote_wheel)
            finally:
                sftp.exit()
        say(f"installing {wheel.name}{EXTRA} and its dependencies (from the host's package index)")
        await _ok(conn, [*pip, remote_wheel + EXTRA, *host.setup.pip_args], timeout=None)
        # Same version number, newer code: replace Tailor itself without touching the dependencies.
        await _ok(conn, [*pip, "--force-reinstall", "--no-deps", remote_wheel], timeout=None)
    else:
        say(f"installing tailor-tui{EXTRA}=={engine.__version__} from the host's package index")
        await _ok(conn, [*pip, f"tailor-tui{EXTRA}=={engine.__version__}", *host.setup.pip_args], timeout=None)
    info = await conn.op("info")
    if info.get("tailor_version") != engine.__version__:
        raise HostError(
            f"{conn.name}: after setup {python} has Tailor {info.get('tailor_version')}, expected {engine.__version__}"
        )
    say(f"ready: Tailor {info['tailor_version']} on Python {info['python_version']} at {info['python']}")
    return info


async def _ok(conn: HostConnection, argv: list[str], *, timeout: float | None = 120) -> str:
    result = await conn.run(argv, timeout=timeout)
    if result.exit_status != 0:
        err = " ".join(str(result.stderr or result.stdout or "").strip().splitlines()[-2:])
        raise HostError(f"{conn.name}: `{' '.join(argv[:3])} ...` failed (exit {result.exit_status}): {err}")
    return str(result.stdout or "")
