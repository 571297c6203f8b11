"""The run directory contract: status, events, heartbeat, artefacts."""

from tailor.engine.runs.events import Event, EventCursor, EventWriter, read_events
from tailor.engine.runs.rundir import RunDir, check_run_id, new_run_id
from tailor.engine.runs.status import TERMINAL, RunState, Status

__all__ = [
    "TERMINAL",
    "Event",
    "EventCursor",
    "EventWriter",
    "RunDir",
    "RunState",
    "Status",
    "check_run_id",
    "new_run_id",
    "read_events",
]
