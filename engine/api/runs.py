"""Runs as the run directory records them: status and events (typed), the run directory, finding a
run and its recipe, formatting for display, and refreshing the local mirrors of remote runs."""

from tailor.engine.remote.mirror import host_of
from tailor.engine.remote.refresh import refresh_remote
from tailor.engine.runs.cost import Cost, cost_cells, cost_events, run_cost
from tailor.engine.runs.events import Event, check_event
from tailor.engine.runs.format import duration, eta, event_line, number, safe, state_word
from tailor.engine.runs.lookup import find_run, run_recipe
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

__all__ = [
    "Cost",
    "Event",
    "RunDir",
    "RunState",
    "Status",
    "check_event",
    "cost_cells",
    "cost_events",
    "duration",
    "eta",
    "event_line",
    "find_run",
    "host_of",
    "number",
    "refresh_remote",
    "run_cost",
    "run_recipe",
    "safe",
    "state_word",
]
