"""``tailor hosts setup H``: a Python environment on the host with this exact Tailor version.

1. Build a wheel from the local source tree (``pip wheel --no-deps``, in a temporary copy so parallel
   builds never share a build/ folder). A Tailor installed from a wheel installs ``tailor-tui==V`` there.
2. Create ``<workdir>/venv`` with ``setup.python`` (``--system-site-packages`` when asked: hosts whose
   torch/CUDA come with the system), unless ``python:`` names an existing interpreter.
3. On a host without a GPU (no nvidia-smi) and without torch, install torch's CPU build first
   (``torch_plan``); otherwise pip would fetch the multi-GB CUDA build.
4. Upload the wheel over SFTP and ``pip install`` it with the ``train`` extra (the training stack the
   workers import; a light install, ``pip install tailor-tui``, only drives hosts); dependencies come from
   the host's package index (``setup.pip_args`` can point elsewhere; ``forward_env`` secrets reach pip on
   stdin), pip's progress passed on line by line, then verify with ``python -m tailor.engine.remote info``.
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


#: Where the CPU-only torch wheels live: a host without a GPU gets those (about 200 MB) instead of the
#: default CUDA build pip would pick (several GB of CUDA libraries nothing there can use).
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
#: pip arguments that choose where packages come from: the user's choice then, not ours.
INDEX_ARGS = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--no-index")
#: ``python -c`` program that runs pip with extra environment read from stdin (secrets such as an index
#: token, from ``forward_env``), so they never appear in a command line or in ``ps`` on the host.
PIP_WITH_ENV = (
    "import json,os,runpy,sys; os.environ.update(json.loads(sys.stdin.readline() or '{}')); "
    "sys.argv[0] = 'pip'; runpy.run_module('pip', run_name='__main__', alter_sys=True)"
)
#: pip output lines worth passing on as progress (the rest is noise).
PROGRESS = ("Collecting ", "Downloading ", "Installing collected", "Successfully installed", "Building wheel",
            "Requirement already satisfied: torch", "ERROR", "WARNING: Retrying")


def torch_plan(*, has_gpu: bool, torch_version: str | None, pip_args: list[str],
               system_site_packages: bool) -> tuple[list[str] | None, str]:
    """What setup does about torch before installing Tailor: (pip arguments to install it, or None; a line
    saying what and why)."""
    if torch_version:
        return None, f"torch {torch_version} is installed there already: kept"
    if has_gpu:
        return None, "GPU found (nvidia-smi): torch comes from the package index with its CUDA build"
    if system_site_packages:
        return None, ("no GPU found (no nvidia-smi); the venv sees the system's packages, so no torch is chosen "
                      f"here: for the CPU build add --pip-arg=--extra-index-url={CPU_TORCH_INDEX}")
    if any(a.split("=", 1)[0] in INDEX_ARGS for a in pip_args):
        return None, ("no GPU found (no nvidia-smi); your pip arguments choose the index, so torch comes from it: "
                      f"for the CPU build add --pip-arg=--extra-index-url={CPU_TORCH_INDEX}")
    return ["torch", "--index-url", CPU_TORCH_INDEX], (
        f"no GPU found (no nvidia-smi): installing the CPU build of torch from {CPU_TORCH_INDEX} (about 200 MB, "
        "not the multi-GB CUDA build); a host that gets a GPU later: `tailor hosts setup` after removing its venv"
    )


async def setup_host(
    conn: HostConnection,
    *,
    say: Callable[[str], Any] = lambda _m: None,
    pip_args: list[str] | None = None,
    forward_env: list[str] | None = None,
) -> dict[str, Any]:
    """Prepare the host; return its ``info`` answer (Python, Tailor version, workspace).

    ``pip_args`` are added to the host's ``setup.pip_args``; the variables named in ``forward_env`` (and the
    host's own ``forward_env``) reach pip through stdin, e.g. a private index's credentials."""
    import os

    from tailor.engine.remote.gpus import gpu_inventory
    from tailor.engine.remote.quoting import secrets_from

    host = conn.host
    await conn.get()
    workdir = conn.expand(host.workdir)
    python = conn.python
    args = [*host.setup.pip_args, *(pip_args or [])]
    secrets = secrets_from(os.environ, [*host.forward_env, *(forward_env or [])])
    for name in forward_env or []:
        if name not in secrets:
            say(f"{name} is not set in this environment: nothing to forward for it")
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
    say("looking for a GPU (nvidia-smi) and an installed torch")
    torch_argv, line = torch_plan(
        has_gpu=bool(await gpu_inventory(conn)),
        torch_version=await _torch_version(conn, python),
        pip_args=args,
        system_site_packages=host.setup.system_site_packages,
    )
    say(line)
    if torch_argv is not None:
        await _pip(conn, python, torch_argv, secrets, say)
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
        await _pip(conn, python, [remote_wheel + EXTRA, *args], secrets, say)
        # Same version number, newer code: replace Tailor itself without touching the dependencies.
        await _pip(conn, python, ["--force-reinstall", "--no-deps", remote_wheel], secrets, say)
    else:
        say(f"installing tailor-tui{EXTRA}=={engine.__version__} from the host's package index")
        await _pip(conn, python, [f"tailor-tui{EXTRA}=={engine.__version__}", *args], secrets, say)
    info = await conn.op("info")
    if info.get("tailor_version") != engine.__version__:
        raise HostError(
            f"{conn.name}: after setup {python} has Tailor {info.get('tailor_version')}, expected {engine.__version__}"
        )
    say(f"ready: Tailor {info['tailor_version']} on Python {info['python_version']} at {info['python']}")
    return info


async def _torch_version(conn: HostConnection, python: str) -> str | None:
    """torch's version in the host's interpreter, without importing it (a second, not a minute)."""
    code = "import importlib.metadata as m\ntry: print(m.version('torch'))\nexcept Exception: pass"
    result = await conn.run([python, "-c", code], timeout=60)
    return (str(result.stdout or "").strip() or None) if result.exit_status == 0 else None


async def _pip(
    conn: HostConnection, python: str, args: list[str], secrets: dict[str, str], say: Callable[[str], Any]
) -> None:
    """``pip install ARGS`` on the host, passing on its progress lines as they come (a big install is
    minutes of downloads: never silent), with ``secrets`` in its environment through stdin."""
    import asyncio
    import json

    import asyncssh

    from tailor.engine.remote.quoting import join, redact, with_env

    argv = [python, "-c", PIP_WITH_ENV, "install", "--disable-pip-version-check", "--progress-bar", "off", *args]
    ssh = await conn.get()
    proc = await ssh.create_process(join(with_env(argv, conn.host.env)), stderr=asyncssh.STDOUT)  # in order
    proc.stdin.write(json.dumps(secrets) + "\n")
    proc.stdin.write_eof()
    tail: list[str] = []
    while line := await proc.stdout.readline():
        text = redact(str(line).rstrip(), secrets)
        tail = (tail + [text])[-3:]
        if text.startswith(PROGRESS):
            say(f"pip: {text[:200]}")
    await asyncio.wait_for(proc.wait_closed(), 60)
    if proc.exit_status != 0:
        what = " ".join(t.strip() for t in tail)[:400]
        raise HostError(f"{conn.name}: `pip install {' '.join(args[:2])} ...` failed (exit {proc.exit_status}): {what}")


async def _ok(conn: HostConnection, argv: list[str], *, timeout: float | None = 120) -> str:
    result = await conn.run(argv, timeout=timeout)
    if result.exit_status != 0:
        err = " ".join(str(result.stderr or result.stdout or "").strip().splitlines()[-2:])
        raise HostError(f"{conn.name}: `{' '.join(argv[:3])} ...` failed (exit {result.exit_status}): {err}")
    return str(result.stdout or "")
