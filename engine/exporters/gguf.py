"""GGUF export through llama.cpp's own converter (``convert_hf_to_gguf.py``), never a home-made writer.

Tailor does not ship llama.cpp. The converter is located at run time, in this order:

1. ``$TAILOR_LLAMA_CPP``: a llama.cpp checkout (the folder holding ``convert_hf_to_gguf.py``), or the
   source distribution of ``llama-cpp-python`` (a ``.tar.gz``, or the folder it unpacks to), which vendors
   llama.cpp under ``vendor/llama.cpp``; a tarball is unpacked once into Tailor's cache;
2. a copy unpacked earlier into ``<cache>/llama.cpp/``.

``CONVERTER_HINT`` (shown when none is found) says how to get one. The converter's Python needs are numpy,
torch, transformers, sentencepiece and protobuf (llama.cpp's requirements-convert_hf_to_gguf.txt); its
own ``gguf-py`` is put first on ``PYTHONPATH`` so converter and writer match.

Quantisation: the converter writes f32, f16, bf16 and q8_0 itself (``--outtype``). Every other type
(q4_k_m, q5_k_m, q6_k...) needs llama.cpp's compiled ``llama-quantize`` (on ``PATH``, or under
``$TAILOR_LLAMA_CPP/build/bin``): Tailor converts to f16 first, then quantises with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from tailor.engine.errors import TailorError

CONVERTER = "convert_hf_to_gguf.py"
#: Output types the converter writes itself.
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")
CONVERTER_HINT = (
    "GGUF export needs llama.cpp's converter: `pip download --no-deps --no-binary=:all: llama-cpp-python -d DIR` "
    "and set TAILOR_LLAMA_CPP=DIR/llama_cpp_python-<version>.tar.gz (or point it at a llama.cpp checkout: "
    "git clone https://github.com/ggml-org/llama.cpp); the converter also needs `pip install sentencepiece`"
)


class ExportError(TailorError):
    """An export cannot be done (a missing tool, an unsupported model or option)."""


def cache_root() -> Path:
    from tailor.engine.config import cache_dir

    return cache_dir() / "llama.cpp"


def _converter_in(folder: Path) -> Path | None:
    for cand in (folder, folder / "vendor" / "llama.cpp"):
        if (cand / CONVERTER).is_file():
            return cand
    return None


def unpack_sdist(tarball: Path) -> Path:
    """Unpack the converter (and its gguf-py) out of a llama-cpp-python sdist into the cache, once."""
    name = tarball.name.removesuffix(".tar.gz").removesuffix(".tgz")
    dest = cache_root() / name
    found = _converter_in(dest)
    if found is not None:
        return found
    part = dest.with_name(dest.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    wanted = ("convert_hf_to_gguf.py", "gguf-py/", "conversion/", "convert_lora_to_gguf.py", "requirements")
    try:
        with tarfile.open(tarball) as tar:
            members = []
            for member in tar.getmembers():
                _, sep, rel = member.name.partition("/vendor/llama.cpp/")
                if sep and rel.startswith(wanted) and (member.isfile() or member.isdir()):
                    member.name = rel
                    members.append(member)
            if not members:
                raise ExportError(f"{tarball}: no vendor/llama.cpp/{CONVERTER} inside; {CONVERTER_HINT}")
            tar.extractall(part, members=members, filter="data")
    except (OSError, tarfile.TarError) as exc:
        shutil.rmtree(part, ignore_errors=True)
        raise ExportError(f"{tarball}: cannot unpack ({exc}); {CONVERTER_HINT}") from None
    os.replace(part, dest)
    return dest


def locate_llama_cpp() -> Path:
    """The llama.cpp folder holding ``convert_hf_to_gguf.py`` (ExportError with the way to get one)."""
    env = os.environ.get("TAILOR_LLAMA_CPP")
    if env:
        path = Path(env).expanduser()
        if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
            return unpack_sdist(path)
        found = _converter_in(path) if path.is_dir() else None
        if found is None:
            raise ExportError(f"TAILOR_LLAMA_CPP={env}: no {CONVERTER} there; {CONVERTER_HINT}")
        return found
    root = cache_root()
    if root.is_dir():
        for cand in sorted(root.iterdir(), reverse=True):
            found = _converter_in(cand) if cand.is_dir() and not cand.name.endswith(".part") else None
            if found is not None:
                return found
    raise ExportError(CONVERTER_HINT)


def find_quantizer(llama_cpp: Path) -> Path | None:
    on_path = shutil.which("llama-quantize")
    if on_path:
        return Path(on_path)
    for cand in (llama_cpp / "build" / "bin" / "llama-quantize", llama_cpp / "llama-quantize"):
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def check_quant(quant: str) -> None:
    """Refuse a quantisation before any work when it needs a tool that is not there."""
    if quant.lower() in CONVERTER_TYPES:
        return
    if find_quantizer(locate_llama_cpp()) is None:
        raise ExportError(
            f"--quant {quant}: the converter writes {', '.join(CONVERTER_TYPES)} only; {quant} needs llama.cpp's "
            "compiled llama-quantize on PATH (build llama.cpp: cmake -B build && cmake --build build -t llama-quantize, "
            "then set TAILOR_LLAMA_CPP to that checkout)"
        )


def refuse_char_tokenizer(model_dir: Path) -> None:
    """The built-in tiny model's character tokenizer has no GGUF vocabulary type llama.cpp knows."""
    import json

    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if config.get("tailor_tiny") or str(config.get("_name_or_path", "")).startswith("tailor/tiny") or not (
        (model_dir / "tokenizer.json").is_file() or (model_dir / "tokenizer.model").is_file()
    ):
        raise ExportError(
            "the built-in tailor/tiny model has a character tokenizer that llama.cpp cannot represent; "
            "GGUF export needs a model with a BPE or SentencePiece tokenizer (a Hugging Face base model)"
        )


def convert(model_dir: Path, out_file: Path, quant: str = "f16", *, log: object = None) -> Path:
    """Write ``out_file`` (a .gguf) from the Hugging Face folder ``model_dir``; atomic (a .part first)."""
    llama_cpp = locate_llama_cpp()
    quant = quant.lower()
    check_quant(quant)
    refuse_char_tokenizer(model_dir)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    part = out_file.with_name(out_file.name + ".part")
    first = part if quant in CONVERTER_TYPES else out_file.with_name(out_file.name + ".f16.part")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(llama_cpp / "gguf-py"), os.environ.get("PYTHONPATH")]))}
    outtype = quant if quant in CONVERTER_TYPES else "f16"
    try:
        _run([sys.executable, str(llama_cpp / CONVERTER), str(model_dir), "--outfile", str(first), "--outtype", outtype], env)
        if first != part:
            quantizer = find_quantizer(llama_cpp)
            assert quantizer is not None, "check_quant found it"
            _run([str(quantizer), str(first), str(part), quant.upper()], env)
        os.replace(part, out_file)
    finally:
        for leftover in (part, first):
            leftover.unlink(missing_ok=True)
    return out_file


def _run(argv: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {proc.returncode}"
        if "No module named" in last:
            last += " (pip install it: llama.cpp's converter needs numpy, torch, transformers, sentencepiece, protobuf)"
        raise ExportError(f"{Path(argv[1]).name if argv[0] == sys.executable else Path(argv[0]).name} failed: {last}")
