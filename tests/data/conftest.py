"""Fixtures for the dataset tests (helpers live in data_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def lf(shared_data: Path) -> Path:
    """The LLaMA-Factory demo datasets folder under ../shared/data."""
    return shared_data / "llamafactory"
