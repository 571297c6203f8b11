"""`tailor hosts doctor` on the real single-node Slurm behind the real sshd: two srun tasks meet at the
rendezvous and all-reduce over gloo; with the rendezvous port taken, the doctor says which port on which
node and how to fix it."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from slurm.cluster import free_port
from tailor.tui.cli import cli

pytestmark = [pytest.mark.ssh, pytest.mark.slurm]


def doctor(ws, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws.root), "hosts", "doctor", "box", *args])


def test_two_tasks_meet_and_all_reduce_then_a_blocked_port_is_named(slurm_ws) -> None:
    port = free_port()
    ready = doctor(slurm_ws, "--tasks", "2", "--port", str(port))
    assert ready.exit_code == 0, ready.output
    lines = ready.output.splitlines()
    assert lines[0] == "box: ready for a multi-node launch"
    assert any(line.startswith("  ok  tasks: 2 of 2 tasks reported on ") for line in lines)
    assert any(line.startswith("  ok  torch version: ") for line in lines)
    assert any(line.startswith("  ok  rendezvous: ") and f":{port} reached from every task" in line for line in lines)
    (reduce_line,) = [line for line in lines if "all-reduce" in line]
    assert reduce_line.startswith("  ok  all-reduce: gloo, 16 MiB x 2 tasks: ") and "Gbit/s bus bandwidth" in reduce_line

    with socket.socket() as taken:  # something else holds the rendezvous port on the node
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("0.0.0.0", port))
        taken.listen()
        blocked = doctor(slurm_ws, "--tasks", "2", "--port", str(port), "--timeout", "20", "--json")
    assert blocked.exit_code == 1
    report = json.loads(blocked.output)
    failed = [(c["name"], c["detail"]) for c in report["checks"] if not c["ok"]]
    (head, other) = failed  # task 0 could not listen; task 1 had no one to meet
    assert head[0] == "rendezvous" and f":{port}: " in head[1] and "address already in use" in head[1].lower()
    assert other == ("rendezvous", f"{head[1].split(':')[0]} (task 1): no answer from the other tasks in 10s")
    assert report["suggestions"][0].startswith(f"port {port} on ") and "is taken or blocked: free it" in report["suggestions"][0]
    assert "cannot reach" in report["suggestions"][1] and "GLOO_SOCKET_IFNAME" in report["suggestions"][1]
    assert not any(c["name"] == "all-reduce" for c in report["checks"])  # never reached
