"""Tests of what leaves Tailor (trackers, exports, merges): one torch thread, as the cores are shared."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).resolve().parent), *(str(Path(__file__).resolve().parent.parent / d) for d in ("train", "tui"))]


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
