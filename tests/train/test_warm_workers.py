"""Warm workers (engine/worker/warm.py): a worker forked from a warm parent trains exactly as a fresh one.

Real detached workers on the demo task. Each test's launches carry an environment variable of their own,
so they get a warm parent of their own (one per interpreter, code and environment) and see it start: the
first launch is fresh, the second is fresh and starts the parent, later ones are forked from it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from train_helpers import WORKER_ENV, metrics, tail, wait_terminal, wait_until, write_recipe

from tailor.engine.runs import lock
from tailor.engine.runs.status import RunState
from tailor.engine.worker import warm
from tailor.engine.worker.launch import worker_env

FAST = {
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.warmup_steps": 0,
    "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 32}],
    "data.eval": None,
}


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture
def executor(workspace, tmp_path: Path):
    from tailor.engine.executors.local import LocalExecutor

    ex = LocalExecutor(workspace, env={**WORKER_ENV, "WARM_TEST_ENV": str(tmp_path)})
    yield ex
    sock, _lock = warm._paths(warm.key(worker_env(ex.control.env)))  # this test's parent: not left behind
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            if str(sock) in _cmdline(pid) and "tailor.engine.worker.warm" in _cmdline(pid):
                os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _launch(workspace, executor, name: str, overrides: dict):
    status = executor.control.launch(write_recipe(workspace, f"{name}.yaml", "demo-sft.yaml", {**FAST, **overrides}))
    return status, workspace.run(status.run_id)


def test_a_forked_worker_trains_like_a_fresh_one_and_is_cancelled_and_resumed_like_one(workspace, executor) -> None:
    sock, _lock = warm._paths(warm.key(worker_env(executor.control.env)))
    fresh, fresh_run = _launch(workspace, executor, "fresh", {"train.max_steps": 8})
    first = wait_until(lambda: executor.control.status(fresh.run_id).pid, 60, "the first worker's pid")
    assert "tailor.engine.worker.warm" not in _cmdline(first)  # no parent yet: a fresh process
    _launch(workspace, executor, "second", {"train.max_steps": 1})  # a second launch starts the parent
    wait_until(sock.exists, 120, "the warm parent's socket")
    assert oct(sock.parent.stat().st_mode & 0o777) == "0o700"

    started = time.monotonic()
    forked, forked_run = _launch(workspace, executor, "forked", {"train.max_steps": 8})
    pid = wait_until(lambda: executor.control.status(forked.run_id).pid, 60, "the forked worker's pid")
    assert "tailor.engine.worker.warm" in _cmdline(_parent_of(pid))  # forked from the parent, not started
    assert os.getpgid(pid) == pid and os.getsid(pid) == pid  # its own session and group, as a fresh worker
    assert Path(f"/proc/{pid}/cwd").resolve() == forked_run.path.resolve()
    assert wait_terminal(executor, fresh.run_id, timeout=300).state == RunState.SUCCEEDED, tail(fresh_run.stderr_file)
    assert wait_terminal(executor, forked.run_id, timeout=300).state == RunState.SUCCEEDED, tail(forked_run.stderr_file)
    warm_seconds = time.monotonic() - started
    # Same seed, same recipe: the same losses to the last digit, whether forked or fresh.
    assert [m["loss"] for m in metrics(forked_run)] == [m["loss"] for m in metrics(fresh_run)]
    assert oct(forked_run.stderr_file.stat().st_mode & 0o777) == "0o600"
    said = [e["message"] for e in forked_run.events() if e["type"] == "log" and "warm parent" in e["message"]]
    assert len(said) == 1 and said[0].startswith("forked from the warm parent "), said
    assert not [e for e in fresh_run.events() if e["type"] == "log" and "warm parent" in e["message"]]
    print(f"\nwarm launch to finished: {warm_seconds:.1f}s")

    # Cancel reaches the forked worker's process group; it saves a checkpoint; resume forks again.
    long, long_run = _launch(workspace, executor, "long", {"train.max_steps": 5000, "train.save_steps": 1000})
    wait_until(lambda: any(m["step"] >= 3 for m in metrics(long_run)), 120, "steps of the long run")
    assert lock.is_locked(long_run.path)  # the lock passed over the socket is held by the worker
    executor.control.cancel(long.run_id)
    cancelled = wait_terminal(executor, long.run_id, timeout=120)
    assert cancelled.state == RunState.CANCELLED and long_run.last_checkpoint() is not None, tail(long_run.stderr_file)
    assert not lock.is_locked(long_run.path)  # the parent kept no copy of the run's lock
    resumed = executor.control.resume(long.run_id)
    pid = wait_until(lambda: (s := executor.control.status(long.run_id)).pid != cancelled.pid and s.pid, 60, "resumed pid")
    assert "tailor.engine.worker.warm" in _cmdline(_parent_of(pid)) and resumed.attempt == cancelled.attempt + 1
    executor.control.kill(long.run_id)


def test_launches_the_parent_does_not_serve_start_fresh(monkeypatch, tmp_path: Path) -> None:
    import sys

    plain = [sys.executable, "-m", "tailor.engine.worker", "/r"]
    assert warm.is_plain_worker(plain) and warm.is_plain_worker([*plain, "--resume"])
    assert not warm.is_plain_worker(["nice", "-n", "5", *plain])  # a wrapped command
    assert not warm.is_plain_worker(["/usr/bin/python3", "-m", "tailor.engine.worker", "/r"])  # another interpreter
    assert not warm.is_plain_worker([sys.executable, "-m", "torch.distributed.run", "--standalone", *plain[1:]])
    # Variables libraries read at import must match; Tailor's own, a test runner's and a shell's need not.
    env = {"HF_HOME": "/a", "TAILOR_CONFIG": "/c", "PYTEST_CURRENT_TEST": "t", "SSH_CONNECTION": "x", "PWD": "/"}
    assert warm.comparable_env(env) == {"HF_HOME": "/a"}
    assert warm.key(env) == warm.key({**env, "TAILOR_CONFIG": "/d"}) != warm.key({**env, "HF_HOME": "/b"})
    # A registry folder others may write (another user made /tmp/tailor-workers-<uid> first): no socket
    # there is trusted with a launch's environment.
    shared = tmp_path / "tailor-workers"
    shared.mkdir(mode=0o755)
    shared.chmod(0o775)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(PermissionError):
        warm._paths(warm.key(env))
    assert warm.spawn(plain, Path("/r"), env, None) is None and not list(shared.glob("warm-*"))
    monkeypatch.delenv("XDG_RUNTIME_DIR")

    from tailor.engine.config import settings

    monkeypatch.setenv("TAILOR_WARM_WORKERS_IDLE_S", "0")  # off: every worker is a fresh process
    settings.cache_clear()
    try:
        assert warm.idle_seconds() == 0 and warm.spawn(plain, Path("/r"), env, None) is None
        assert not warm._paths(warm.key(env))[0].with_suffix(".want").exists()  # not even noted
    finally:
        monkeypatch.undo()
        settings.cache_clear()
