#!/usr/bin/env bash
# Tailor on an 8B-shaped Llama on one GPU (no network, under 8 minutes on one H100): peak GPU memory against
# Tailor's fit estimate and tokens/s against plain TRL, LoRA and QLoRA, in one table. The Python is
# bench/gpu.py (its docstring says what is measured and how).
#   bench/gpu.sh            the GPU bench
#   bench/gpu.sh --cpu      a tiny Llama of the same family, LoRA only, 3 steps (the suite runs it)
# PYTHON picks the interpreter (default python3); it needs torch, transformers, trl, peft (bitsandbytes on a GPU).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false TRL_EXPERIMENTAL_SILENCE=1
exec "${PYTHON:-python3}" "$repo/bench/gpu.py" "$@"
