"""TUI test fixtures: a workspace with fixed finished runs, UTC times for stable snapshots."""

from __future__ import annotations

import time

import pytest
from tui_helpers import fixed_runs


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    # Log lines show local times: pin the zone so snapshots match on every machine.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def runs_workspace(workspace):
    """The fresh ``workspace`` plus three finished runs with fixed timestamps."""
    workspace.fixed_run_ids = fixed_runs(workspace)
    return workspace
