"""GGUF files as a model source: the file a user runs in Ollama, LM Studio or llama.cpp, fine-tuned as is.

transformers reads GGUF (``from_pretrained(folder, gguf_file=name)``, with the ``gguf`` package) and
dequantizes the weights. Tailor converts a GGUF once into a Hugging Face folder (weights in float32, the
tokenizer with the chat template the file carries) and from then on loads that folder, which takes
seconds instead of a dequantization per load. The folder is what adapters and merged models refer to
(PEFT records it as ``base_model_name_or_path``), so the result loads again anywhere the folder is.

Where the converted folder lives: beside the file (``<file stem>.tailor-hf/``) when that folder is
writable, else ``$XDG_CACHE_HOME/tailor/gguf/<stem>-<hash>/``. A ``tailor_gguf_source.json`` inside records
the source's size and modification time; a changed file is converted again.

A file is GGUF when it starts with the magic bytes ``GGUF`` (Ollama's blobs have no ``.gguf`` suffix).
Worker side: transformers is imported inside :func:`convert` only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tailor.engine.errors import ModelError

MAGIC = b"GGUF"
SOURCE_FILE = "tailor_gguf_source.json"


def is_gguf(path: Path) -> bool:
    """True for a readable file that starts with the GGUF magic bytes."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


def gguf_source(name_or_path: str, gguf_file: str | None = None) -> Path | None:
    """The GGUF file a model spec names (a file, or a folder plus ``gguf_file``), or None for other models."""
    path = Path(name_or_path).expanduser()
    if gguf_file:
        if not path.is_dir():
            raise ModelError(f"model.gguf_file is set but model.name_or_path {name_or_path!r} is not a folder; "
                             "point it at the folder holding the GGUF file (or at the file itself)")
        file = path / gguf_file
        if not file.is_file():
            raise ModelError(f"model.gguf_file: {file} does not exist")
        if not is_gguf(file):
            raise ModelError(f"model.gguf_file: {file} is not a GGUF file (it does not start with 'GGUF')")
        return file.resolve()
    if path.is_file():
        if not is_gguf(path):
            raise ModelError(f"model {path} is a file but not a GGUF file; point model.name_or_path at a GGUF "
                             "file or a Hugging Face model folder")
        return path.resolve()
    return None


def _fingerprint(file: Path) -> dict[str, object]:
    st = file.stat()
    return {"source": str(file), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def converted_dir(file: Path) -> Path:
    """Where the Hugging Face conversion of ``file`` is (or will be) cached."""
    beside = file.parent / f"{file.name.removesuffix('.gguf')}.tailor-hf"
    if beside.is_dir() or os.access(file.parent, os.W_OK):
        return beside
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tailor" / "gguf"
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
    return root / f"{file.name.removesuffix('.gguf')}-{digest}"


def is_current(folder: Path, file: Path) -> bool:
    try:
        recorded = json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (folder / "config.json").is_file() and recorded == _fingerprint(file)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One process converts at a time (two workers starting from the same file wait for one conversion)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert(file: Path, log: object = None) -> Path:
    """The Hugging Face folder for the GGUF ``file``, converted on first use; returns its path."""
    folder = converted_dir(file)
    if is_current(folder, file):
        return folder
    with _locked(folder):
        if is_current(folder, file):
            return folder
        if callable(log):
            log(f"converting {file.name} from GGUF to a Hugging Face folder (once): {folder}")
        part = folder.with_name(folder.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            model = AutoModelForCausalLM.from_pretrained(str(file.parent), gguf_file=file.name, dtype="float32")
            tokenizer = AutoTokenizer.from_pretrained(str(file.parent), gguf_file=file.name)
        except ImportError as exc:
            raise ModelError(f"reading GGUF needs the gguf package: pip install gguf ({exc})") from exc
        except Exception as exc:  # an architecture or quantization transformers cannot read
            from tailor.engine.errors import one_line

            raise ModelError(f"cannot read the GGUF file {file}: {one_line(exc)}") from exc
        # The weights are dequantized on load; only the GGUF marker stops save_pretrained: drop it.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(part))
        tokenizer.save_pretrained(str(part))
        (part / SOURCE_FILE).write_text(json.dumps(_fingerprint(file)), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(part, folder)  # never a half-converted folder under the final name
    return folder
