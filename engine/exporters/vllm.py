"""The vLLM command that serves an exported adapter on its base model (``--enable-lora --lora-modules``)."""

from __future__ import annotations

import contextlib
import json
import shlex
from pathlib import Path


def serve_command(base_model: str, adapter_dir: Path, name: str) -> str:
    """``vllm serve BASE --enable-lora --lora-modules NAME=DIR --max-lora-rank R``."""
    rank = 16
    with contextlib.suppress(OSError, ValueError, TypeError):
        rank = int(json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8")).get("r", 16))
    # vLLM's --max-lora-rank must cover the adapter's rank; it accepts 8, 16, 32, 64, 128, 256...
    max_rank = next((r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= rank), rank)
    return (
        f"vllm serve {shlex.quote(base_model)} --enable-lora "
        f"--lora-modules {shlex.quote(f'{name}={adapter_dir}')} --max-lora-rank {max_rank}"
    )
