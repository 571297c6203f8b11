"""CPU-only speed-ups for TRL's trainers: what TRL leaves on the table when no GPU is there.

TRL computes the loss through a fused LM head that scores positions in tiles without materializing the
logits. On Triton devices it scores only the positions whose label is trained; elsewhere it scores every
position (prompt, user turns and pad included), which only pays off on devices that compile one graph per
tile shape (Neuron). On a CPU that is the vocabulary-sized projection, forward and backward, over tokens
whose result is thrown away: :func:`score_trained_positions_only` makes TRL take its own compact path there.
"""

from __future__ import annotations


def score_trained_positions_only() -> bool:
    """Make TRL's fused LM head score only trained positions on a CPU (as it does on CUDA). True if patched."""
    try:
        from trl.trainer import utils
    except ImportError:
        return False
    original = getattr(utils, "_use_triton", None)
    if original is None or getattr(original, "tailor_compact", False):
        return original is not None

    def compact(device: object) -> bool:
        return getattr(device, "type", None) == "cpu" or bool(original(device))

    compact.tailor_compact = True  # type: ignore[attr-defined]
    utils._use_triton = compact
    return True
