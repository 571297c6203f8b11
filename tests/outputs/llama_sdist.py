"""llama.cpp's converter for the GGUF tests: the llama-cpp-python sdist from PyPI, fetched once per machine
(``pip download --no-deps --no-binary=:all:``, no build) into the test cache. Tailor unpacks the converter
out of it itself (engine/exporters/gguf.py, ``TAILOR_LLAMA_CPP`` pointing at the tarball)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.real_model import _locked, cache_dir

SDIST = "llama-cpp-python==0.3.36"


def llama_cpp_sdist() -> Path:
    folder = cache_dir().parent / "llama-cpp"
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / "sdist"):
        found = sorted(folder.glob("llama_cpp_python-*.tar.gz"))
        if found:
            return found[-1]
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary=:all:", "-d", tmp, SDIST],
                check=True, capture_output=True, timeout=900,
            )
            (tarball,) = Path(tmp).glob("*.tar.gz")
            target = folder / tarball.name
            tarball.rename(target)
    return target
