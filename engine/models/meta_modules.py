"""``python -m tailor.engine.models.meta_modules``: a model's module names from its config.json alone.

The model is built on PyTorch's meta device (no weights, no memory) in this child process, so the launch
checks (``engine/preflight.py``) can match ``lora.target_modules`` against the real module tree while the
process that launches (the TUI, ``tailor run``) never imports torch or transformers. Reads the config as
JSON on stdin; prints ``{"modules": [every module name], "linear": [the linear layers' last names]}``.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    cfg = json.load(sys.stdin)
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    modules = list(model.named_modules())
    json.dump({
        "modules": [name for name, _ in modules if name],
        # the same test as the worker's check (engine/train/methods.py), for the same message
        "linear": sorted({name.rsplit(".", 1)[-1] for name, m in modules
                          if isinstance(m, torch.nn.Linear) or type(m).__name__ == "Conv1D"}),
    }, sys.stdout)


if __name__ == "__main__":
    main()
