"""On a CPU, TRL's fused LM head scores only the trained positions, as it does on CUDA: guarded, and scoped.

TRL (1.x) computes the loss through a fused LM head (``trl.trainer.utils.add_fused_lm_head``) that projects the
hidden states onto the vocabulary in tiles without building the logits. Which positions it scores is one line:
``compact = _use_triton(hidden_states.device)``: on CUDA/XPU only those whose label is trained, elsewhere every
position (prompt, user turns, pad), because on devices that compile one graph per tile shape (Neuron) a varying
count of trained positions would recompile on each batch. A CPU in eager mode compiles nothing, so scoring every
position there is only the vocabulary-sized projection, forward and backward, over results thrown away: for DPO,
whose rows are prompt-heavy and padded, most of the step and ~1.5 GiB of peak memory (docs/training.md).

TRL has no switch for it, so :func:`trained_positions_only` answers ``_use_triton`` with True for the CPU while a
run trains, and restores it afterwards. Because that name is private, it first checks that TRL's code is the one
it was written and tested against (tests/train/test_cpu_defaults.py: the same loss and gradients both ways); when
anything differs it leaves TRL alone and logs a note, and the run trains as TRL would (slower, same result).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from tailor.engine.train.config import CPU_BF16_MIN_HIDDEN

# The lines of TRL's add_fused_lm_head that the switch relies on: which positions are scored, and how they are
# put back in place.
EXPECTED = ("compact = _use_triton(hidden_states.device)", "hidden_states[mask] if compact",
            "masked_scatter(mask, x)")


def unexpected() -> str | None:
    """Why TRL's fused LM head is not the one this module knows (None when it is)."""
    import inspect

    try:
        from trl.kernels import chunked_logprob
        from trl.trainer import utils
    except ImportError as exc:
        return f"cannot import it ({exc})"
    chooser = getattr(utils, "_use_triton", None)
    if chooser is None or chooser is not getattr(chunked_logprob, "_use_triton", None):
        return "trl.trainer.utils._use_triton is not the kernel's device test"
    try:
        source = inspect.getsource(utils.add_fused_lm_head)
    except (AttributeError, OSError, TypeError) as exc:
        return f"cannot read add_fused_lm_head ({exc})"
    missing = [line for line in EXPECTED if line not in source]
    return f"add_fused_lm_head no longer has `{missing[0]}`" if missing else None


@contextlib.contextmanager
def trained_positions_only(args: Any, log: Callable[[str], None], hidden_size: int) -> Iterator[bool]:
    """While the block runs, TRL's fused LM head scores only trained positions on the CPU (yields whether it does).

    Off where it does not apply: a GPU run (TRL does it already), ``torch_compile`` (the varying shapes would
    recompile, TRL's own reason), and a TRL whose code differs from what this module expects (logged).
    """
    if getattr(getattr(args, "device", None), "type", "cpu") != "cpu" or getattr(args, "torch_compile", False):
        yield False
        return
    if hidden_size < CPU_BF16_MIN_HIDDEN:
        # Where it pays, as CPU bf16: measured on SmolLM2 (576 wide). On a narrow model the projection is
        # a small share of the step, and TRL's own path keeps such runs (the tiny model's) exactly as
        # they were.
        yield False
        return
    reason = unexpected()
    if reason is not None:
        import trl

        log(f"TRL {trl.__version__}'s fused LM head: {reason}; it scores every position on the CPU (slower, same loss)")
        yield False
        return
    from trl.trainer import utils

    original = utils._use_triton

    def compact(device: Any) -> bool:
        return getattr(device, "type", None) == "cpu" or bool(original(device))

    utils._use_triton = compact
    log("CPU: TRL's fused LM head scores only the trained positions, as on CUDA")
    try:
        yield True
    finally:
        utils._use_triton = original
