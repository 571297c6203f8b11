"""`tailor hosts doctor`'s verdict on reports a two-node GPU cluster would give (engine/remote/doctor.py):
the node that differs and the variables to set. The real tasks: tests/slurm/test_doctor.py."""

from __future__ import annotations

from tailor.engine.remote.doctor import doctor_lines, verdict


def _task(rank: int, node: str, torch: str, allreduce: dict) -> dict:
    return {"rank": rank, "node": node, "python": "3.11.7", "tailor": "0.1.0", "torch": torch, "nccl": "2.21.5",
            "reach": {"ok": True, "seconds": 0.01}, "allreduce": allreduce}


def test_a_node_with_another_torch_and_a_hanging_nccl_all_reduce() -> None:
    hung = {"ok": False, "backend": "nccl", "error": "no answer from the other tasks in 30s"}
    report = verdict([_task(0, "gpu1", "2.5.1", hung), _task(1, "gpu2", "2.4.0", hung)], 2, 29500)
    assert not report["ok"]
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert failed == {"torch version": "2.5.1 on gpu1; 2.4.0 on gpu2",
                      "all-reduce": "nccl: no answer from the other tasks in 30s"}
    assert report["suggestions"][0].startswith("install the same torch on every node (they differ: 2.5.1 on gpu1")
    assert "NCCL_IB_DISABLE=1 (fall back to TCP)" in report["suggestions"][1]
    lines = doctor_lines("cluster", report)
    assert lines[0] == "cluster: not ready" and "  ok  nccl version: 2.21.5 on gpu1, gpu2" in lines
    assert "  ok  rendezvous: gpu1:29500 reached from every task" in lines


def test_a_missing_task_is_named_with_the_launcher_error() -> None:
    report = verdict([], 2, 29500, launcher="srun: error: Unable to allocate resources: Invalid partition name")
    (check,) = report["checks"]
    assert check == {"name": "tasks", "ok": False, "detail": "0 of 2 tasks reported on no node (srun: error: "
                     "Unable to allocate resources: Invalid partition name)"}
    assert "srun" in report["suggestions"][0]
