"""GRPO tests train the tiny model in this process: one torch thread, as the machine's cores are shared."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
