"""Search test fixtures: tiny search recipes over the demo SFT task (few rows, few steps)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from search_helpers import write_search


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_worker() -> None:
    # Trial workers inherit this: on a shared 2-core machine, torch's default of one OpenMP thread per core
    # in every process makes training 10-20x slower (threads spin against each other).
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def search_recipe(workspace) -> Path:
    """A 3-trial search: 6 steps per trial, eval (and a pruning check) every 2 steps."""
    return write_search(workspace)
