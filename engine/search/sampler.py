"""Samplers that reseed when a trial is not the next one of their own stream.

Every worker process builds its own sampler from the same recipe seed. Optuna's samplers hold one
random stream per instance, so two workers (siblings here, or workers on other hosts) would draw the
same random numbers: identical start-up trials, half the budget spent twice. A restarted search would
also replay its first draws. So a sampler counts the trials it has sampled; when a trial's number is not
that count (another worker took trials in between, or the study already had trials when this worker
started), it reseeds from ``(seed, trial number)`` before the trial samples. No two trials share a
stream, and a single worker on a fresh study keeps Optuna's plain seeded stream (same results as
``TPESampler(seed=...)``, which bench/search.py's figures rely on). The result is still a
``TPESampler`` / ``RandomSampler`` / ``GridSampler`` (a subclass), so isinstance checks hold.

Worker-side module: Optuna is imported by the caller, the classes are built on first use.
"""

from __future__ import annotations

from typing import Any


def trial_seed(seed: int, number: int) -> int:
    """A 32-bit seed for trial ``number`` of a study whose sampler seed is ``seed``."""
    import numpy as np

    return int(np.random.SeedSequence([seed % 2**32, number]).generate_state(1)[0])


def reseed(sampler: Any, seed: int) -> None:
    """Seed the sampler's random state (and TPE's start-up random sampler's)."""
    for holder in (sampler, getattr(sampler, "_random_sampler", None)):
        rng = getattr(getattr(holder, "_rng", None), "rng", None)  # optuna's LazyRandomState
        if rng is not None:
            rng.seed(seed)


class _PerTrialSeed:
    """Mixin: reseed in ``before_trial``, which Optuna calls before the trial samples anything."""

    def __init__(self, *args: Any, seed: int, **kwargs: Any) -> None:
        self._tailor_seed = seed
        self._tailor_sampled = 0  # trials this instance has started: its plain stream's position
        super().__init__(*args, seed=seed, **kwargs)  # type: ignore[call-arg]

    def before_trial(self, study: Any, trial: Any) -> None:
        if trial.number != self._tailor_sampled:  # not the next trial of this stream: another worker's turn
            reseed(self, trial_seed(self._tailor_seed, trial.number))
        self._tailor_sampled += 1
        super().before_trial(study, trial)  # type: ignore[misc]


_CLASSES: dict[type, type] = {}


def per_trial_seeded(base: type, *args: Any, seed: int, **kwargs: Any) -> Any:
    """An instance of ``base`` (an Optuna sampler class taking ``seed=``) that reseeds per trial."""
    cls = _CLASSES.get(base)
    if cls is None:
        cls = _CLASSES[base] = type(base.__name__, (_PerTrialSeed, base), {"__module__": __name__})
    return cls(*args, seed=seed, **kwargs)
