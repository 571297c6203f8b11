"""Does a merged model reproduce the run? A dtype-aware comparison with the run's reference logits.

At the end of training the worker records the final model's logits on a fixed text
(``eval/reference_logits.safetensors``, engine.train.loop). A merged export must give the same logits up
to the rounding of the dtypes involved. An absolute tolerance cannot tell right from wrong: a correct
bfloat16 merge differs by ~0.7 in the largest logit, a merge that dropped an adapter of the chain by ~2.
What does tell them apart:

* the relative RMS error, ``||merged - ref|| / ||ref||`` over the recorded logits: rounding in bfloat16
  gives about 1%, float16 a few per mille, float32 ~1e-6; a wrong model is far above;
* top-token agreement: the share of positions whose most likely next token (over the whole vocabulary)
  is the same; rounding can flip a near tie, a different model flips many.

Both must hold. Worker-side weight: torch is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailor.engine.recipes.merge import MergeRecipe
    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.runs.rundir import RunDir

# (max relative RMS error, min top-token agreement) by the least precise dtype involved.
TOLERANCE = {
    "float32": (1e-3, 1.0),
    "float16": (2e-2, 0.9),
    "bfloat16": (4e-2, 0.85),
}


@dataclass
class LogitCheck:
    rel_error: float
    agreement: float  # share of positions with the same top token
    max_abs: float
    dtype: str  # the least precise dtype of the comparison (what the tolerance is for)
    positions: int

    @property
    def ok(self) -> bool:
        max_rel, min_agree = TOLERANCE.get(self.dtype, TOLERANCE["bfloat16"])
        return self.rel_error <= max_rel and self.agreement >= min_agree

    def describe(self) -> str:
        max_rel, min_agree = TOLERANCE.get(self.dtype, TOLERANCE["bfloat16"])
        return (f"relative error {self.rel_error:.2%} (allowed {max_rel:.1%} in {self.dtype}), same top token at "
                f"{self.agreement:.0%} of {self.positions} positions (needed {min_agree:.0%}), max |diff| {self.max_abs:.3g}")


def _name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def least_precise(*dtypes: str) -> str:
    order = ["bfloat16", "float16", "float32"]
    known = [d for d in dtypes if d in order]
    return min(known, key=order.index) if known else "float32"


def compare(reference: dict[str, Any], model: Any, dtype: str) -> LogitCheck:
    """The check of ``model`` against recorded reference logits (``input_ids``, ``logits``, ``argmax``)."""
    from tailor.engine.train.loop import model_logits

    logits = model_logits(model, reference["input_ids"][None, :])
    ref = reference["logits"].float()
    sliced = logits[:, : ref.shape[1]]
    if sliced.shape != ref.shape:
        return LogitCheck(float("inf"), 0.0, float("inf"), dtype, int(ref.shape[0]))
    diff = sliced - ref
    rel = float(diff.norm() / ref.norm().clamp_min(1e-12))
    agreement = float((logits.argmax(-1) == reference["argmax"]).float().mean())
    return LogitCheck(rel, agreement, float(diff.abs().max()), dtype, int(ref.shape[0]))


def check_merged(run: RunDir, recipe: TrainableRecipe | MergeRecipe, model: Any) -> LogitCheck | None:
    """The merged ``model`` against ``run``'s reference logits; None when the run recorded none."""
    from tailor.engine.train.loop import load_reference_logits

    reference = load_reference_logits(run)
    if reference is None:
        return None
    trained = recipe.model.dtype if recipe.model.dtype != "auto" else _name(next(model.parameters()).dtype)
    return compare(reference, model, least_precise(trained, _name(next(model.parameters()).dtype)))
