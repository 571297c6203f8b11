"""Hosts that run workers: their settings in the workspace (each host type's own model, e.g. ``SSHHost``,
built by ``new_host``), and the operations on them (list, probe GPUs, check and trust the SSH host key, set up, what fits on them)."""

from tailor.engine.remote.doctor import doctor_lines
from tailor.engine.remote.gpus import Probe
from tailor.engine.remote.hostops import (
    check_key,
    doctor,
    fit_on,
    gpus,
    list_hosts,
    probe_host,
    probe_hosts,
    setup,
    trust_key,
)
from tailor.engine.remote.hosts import (
    SSHHost,
    get_host,
    new_host,
    remove_host,
    save_host,
    update_host,
    workspace_hosts,
)
from tailor.engine.remote.known_hosts import changed_message

__all__ = [
    "SSHHost",
    "new_host",
    "Probe",
    "changed_message",
    "check_key",
    "doctor",
    "doctor_lines",
    "fit_on",
    "get_host",
    "gpus",
    "list_hosts",
    "probe_host",
    "probe_hosts",
    "remove_host",
    "save_host",
    "setup",
    "trust_key",
    "update_host",
    "workspace_hosts",
]
