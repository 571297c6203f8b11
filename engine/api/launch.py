"""Checks before a launch: ``preflight`` lists the problems that would stop a run (each naming its
form field), and the memory estimate says whether a trainable recipe fits on a GPU."""

from tailor.engine.memory_estimate import FitEstimate, check_fit, estimate_recipe
from tailor.engine.preflight import Problem, preflight

__all__ = ["FitEstimate", "Problem", "check_fit", "estimate_recipe", "preflight"]
