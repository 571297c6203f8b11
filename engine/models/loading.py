"""Resolve and load a recipe's model and tokenizer: ``tailor/tiny``, a local folder, a GGUF file or a hub id.

A GGUF file (``model.name_or_path: ./m.gguf``, or a folder plus ``model.gguf_file``) is converted once into
a Hugging Face folder (``tailor.engine.models.gguf``) and loaded from there like any local folder.

Worker-side only (imports torch/transformers inside functions). Every expected failure (an offline hub
id, a missing folder, a gated repo, QLoRA without CUDA) becomes a one-line :class:`ModelError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tailor.engine import stack
from tailor.engine.errors import ModelError
from tailor.engine.models.tiny import TINY_ID

#: What loading a tokenizer imports (a light install, the TUI's token views, has none of it).
TOKENIZER = ("transformers", "tokenizers")


def resolve_model_path(name_or_path: str, gguf_file: str | None = None, log: Any = None) -> str:
    """What ``from_pretrained`` should get: the built tiny model's folder, a local folder (a GGUF file's
    converted folder), or the hub id."""
    if name_or_path == TINY_ID:
        from tailor.engine.models.tiny import tiny_path

        return str(tiny_path())
    from tailor.engine.models.gguf import convert, gguf_source

    gguf = gguf_source(name_or_path, gguf_file)
    if gguf is not None:
        return str(convert(gguf, log))
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            ggufs = sorted(p.name for p in path.glob("*.gguf"))
            if ggufs:
                raise ModelError(f"model folder {path} has no config.json but holds {', '.join(ggufs)}; set "
                                 f"model.gguf_file: {ggufs[0]} (or point model.name_or_path at the file)")
            raise ModelError(f"model folder {path} has no config.json; point model.name_or_path at a Hugging Face "
                             "model folder or a GGUF file")
        return str(path.resolve())
    if name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1:
        raise ModelError(f"model folder {name_or_path!r} does not exist; fix model.name_or_path")
    return name_or_path


def spec_path(spec: Any, log: Any = None) -> str:
    """``resolve_model_path`` for a ``ModelSpec`` (its ``gguf_file`` included)."""
    return resolve_model_path(spec.name_or_path, getattr(spec, "gguf_file", None), log)


@contextlib.contextmanager
def hub_errors(name: str) -> Iterator[None]:
    """Turn hub / loading failures into one-line ModelErrors that say what to do."""
    try:
        yield
    except ModelError:
        raise
    except Exception as exc:  # classified below, re-raised as ModelError
        raise ModelError(describe_load_error(name, exc)) from exc


def describe_load_error(name: str, exc: BaseException) -> str:
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if "GatedRepoError" in names or "gated" in text:
        return (
            f"model {name!r} is gated on the Hugging Face hub; accept its licence on huggingface.co and set "
            "HF_TOKEN in the environment"
        )
    if "RepositoryNotFoundError" in names or "404" in text and "repository" in text:
        return f"model {name!r} was not found on the Hugging Face hub (private? set HF_TOKEN); check model.name_or_path"
    offline = (
        names & {"LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectionError", "ConnectTimeout"}
        or "couldn't connect" in text
        or "offline" in text
        or "name or service not known" in text
    )
    if offline:
        return (
            f"model {name!r} is not in the local Hugging Face cache and the hub is unreachable; download it on a "
            "machine with network or point model.name_or_path at a local folder"
        )
    from tailor.engine.errors import one_line

    return f"cannot load model {name!r}: {one_line(exc)}"


def torch_dtype(dtype: str) -> Any:
    """The recipe's ``model.dtype`` as a torch dtype ("auto" stays "auto")."""
    if dtype == "auto":
        return "auto"
    import torch

    return getattr(torch, dtype)


def check_qlora_possible() -> None:
    """Fail fast, before any download or load, when QLoRA cannot run here."""
    import torch

    if not torch.cuda.is_available():
        raise ModelError(
            "QLoRA needs a CUDA GPU (bitsandbytes 4-bit) and this machine has none; use method: lora here, "
            "or run the recipe on a GPU host (tailor run RECIPE --host HOST)"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelError("QLoRA needs the bitsandbytes package on the worker: pip install bitsandbytes") from None


def tokenizer_refusal(what: str) -> str | None:
    """Why ``what`` cannot load a tokenizer here (a light install), in one line naming the extra; or None."""
    return stack.refusal(what, TOKENIZER)


def load_tokenizer(spec: Any, path: str | None = None) -> Any:
    """The tokenizer for a ``ModelSpec``, with a pad token and the recipe's chat template if any."""
    stack.require("a tokenizer view (token counts, a row as the trainer tokenizes it)", TOKENIZER)
    from transformers import AutoTokenizer

    path = path or spec_path(spec)
    with hub_errors(spec.name_or_path):
        tok = AutoTokenizer.from_pretrained(path, revision=spec.revision, trust_remote_code=spec.trust_remote_code)
    if spec.chat_template:
        tok.chat_template = spec.chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token  # TRL would do the same; done here so every caller agrees
    return tok


def load_model(
    spec: Any,
    path: str | None = None,
    *,
    quantization: Any = None,
    dtype: str | None = None,
) -> Any:
    """The causal LM for a ``ModelSpec``; ``quantization`` (a QuantizationSpec) loads it in 4-bit (QLoRA)."""
    from transformers import AutoModelForCausalLM

    path = path or spec_path(spec)
    kwargs: dict[str, Any] = {
        "revision": spec.revision,
        "trust_remote_code": spec.trust_remote_code,
        "dtype": torch_dtype(dtype or spec.dtype),
    }
    if spec.attn_implementation:
        kwargs["attn_implementation"] = spec.attn_implementation
    if quantization is not None:
        import torch
        from transformers import BitsAndBytesConfig

        compute = getattr(torch, quantization.bnb_4bit_compute_dtype)
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=quantization.bnb_4bit_quant_type,
            bnb_4bit_compute_dtype=compute,
            bnb_4bit_use_double_quant=quantization.bnb_4bit_use_double_quant,
            bnb_4bit_quant_storage=compute,
        )
        kwargs["device_map"] = {"": torch.cuda.current_device()}
        if kwargs["dtype"] == "auto":
            kwargs["dtype"] = compute
    with hub_errors(spec.name_or_path):
        return AutoModelForCausalLM.from_pretrained(path, **kwargs)
