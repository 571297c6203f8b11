"""Runs as the run directory records them: status and events (typed), the run directory, finding a
run and its recipe, formatting for display, and refreshing the local mirrors of remote runs."""

from tailor.engine.fingerprint import check_lines, resume_changes, resume_notes
from tailor.engine.remote.mirror import host_of
from tailor.engine.remote.refresh import refresh_remote
from tailor.engine.runs.cost import Cost, cost_cells, cost_events, run_cost
from tailor.engine.runs.damage import DamageCache, damaged_lines
from tailor.engine.runs.events import Event, check_event
from tailor.engine.runs.format import damaged_note, duration, event_line, number, safe, state_word
from tailor.engine.runs.lookup import find_run, run_recipe
from tailor.engine.runs.pace import Pace, eta_from_events
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState, Status

__all__ = [
    "DamageCache",
    "Cost",
    "Event",
    "Pace",
    "RunDir",
    "RunState",
    "Status",
    "check_event",
    "damaged_lines",
    "damaged_note",
    "check_lines",
    "cost_cells",
    "cost_events",
    "duration",
    "eta_from_events",
    "event_line",
    "find_run",
    "host_of",
    "number",
    "refresh_remote",
    "resume_changes",
    "resume_notes",
    "run_cost",
    "run_recipe",
    "safe",
    "state_word",
]
