"""Shapes of well-known model families, for the fit estimate when no config.json is at hand.

The estimate prefers the model's real config.json (a local folder, a GGUF's converted folder, the Hugging
Face cache); this table covers the popular hub ids a new user names before anything is downloaded. Values
are copied from each model's published config.json. Light: stdlib only.
"""

from __future__ import annotations

from typing import Any

# hub name (lower case, without the owner) prefix -> (hidden, layers, vocab, intermediate, heads, kv heads, tied)
KNOWN: dict[str, tuple[int, int, int, int, int, int, bool]] = {
    "llama-3.1-8b": (4096, 32, 128256, 14336, 32, 8, False),
    "meta-llama-3.1-8b": (4096, 32, 128256, 14336, 32, 8, False),
    "meta-llama-3-8b": (4096, 32, 128256, 14336, 32, 8, False),
    "llama-3.1-70b": (8192, 80, 128256, 28672, 64, 8, False),
    "llama-3.3-70b": (8192, 80, 128256, 28672, 64, 8, False),
    "llama-3.2-1b": (2048, 16, 128256, 8192, 32, 8, True),
    "llama-3.2-3b": (3072, 28, 128256, 8192, 24, 8, True),
    "llama-2-7b": (4096, 32, 32000, 11008, 32, 32, False),
    "llama-2-13b": (5120, 40, 32000, 13824, 40, 40, False),
    "qwen2.5-0.5b": (896, 24, 151936, 4864, 14, 2, True),
    "qwen2.5-1.5b": (1536, 28, 151936, 8960, 12, 2, True),
    "qwen2.5-3b": (2048, 36, 151936, 11008, 16, 2, True),
    "qwen2.5-7b": (3584, 28, 152064, 18944, 28, 4, False),
    "qwen2.5-14b": (5120, 48, 152064, 13824, 40, 8, False),
    "qwen2.5-32b": (5120, 64, 152064, 27648, 40, 8, False),
    "qwen2.5-72b": (8192, 80, 152064, 29568, 64, 8, False),
    "mistral-7b": (4096, 32, 32768, 14336, 32, 8, False),
    "gemma-2-2b": (2304, 26, 256000, 9216, 8, 4, True),
    "gemma-2-9b": (3584, 42, 256000, 14336, 16, 8, True),
    "phi-3-mini": (3072, 32, 32064, 8192, 32, 32, False),
    "smollm2-135m": (576, 30, 49152, 1536, 9, 3, True),
    "smollm2-360m": (960, 32, 49152, 2560, 15, 5, True),
    "smollm2-1.7b": (2048, 24, 49152, 8192, 32, 32, True),
}


def known_config(name: str) -> tuple[dict[str, Any], str] | None:
    """A config.json-like dict for a known hub id (``owner/Name-...``), with where it came from."""
    short = name.rsplit("/", 1)[-1].lower()
    for prefix in sorted(KNOWN, key=len, reverse=True):
        if short.startswith(prefix):
            h, n, v, inter, heads, kv, tied = KNOWN[prefix]
            cfg = {"hidden_size": h, "num_hidden_layers": n, "vocab_size": v, "intermediate_size": inter,
                   "num_attention_heads": heads, "num_key_value_heads": kv, "tie_word_embeddings": tied}
            return cfg, f"the table of known architectures ({prefix})"
    return None
