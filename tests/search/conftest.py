"""Search test fixtures: tiny search recipes over the demo SFT task (few rows, few steps)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from search_helpers import write_search  # noqa: E402


@pytest.fixture
def search_recipe(workspace) -> Path:
    """A 3-trial search: 6 steps per trial, eval (and a pruning check) every 2 steps."""
    return write_search(workspace)
