"""``train.report_to``: the real trackers, offline, hold the same losses as events.jsonl."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from train_helpers import SHORT, WORKER_ENV, make_run, tail, wait_terminal

from tailor.engine.errors import RecipeError
from tailor.engine.recipes.load import parse_recipe
from tailor.engine.runs.status import RunState


def _losses(run) -> dict[int, float]:
    out = {}
    for line in run.events_file.read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "metric" and event.get("split", "train") == "train" and "loss" in event.get("values", {}):
            out[event["step"]] = event["values"]["loss"]
    return out


@pytest.mark.slow
def test_four_trackers_hold_the_event_losses(workspace, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("DISABLE_MLFLOW_INTEGRATION", "false")
    for key in ("MLFLOW_TRACKING_URI", "TENSORBOARD_LOGGING_DIR", "WANDB_DIR", "TRACKIO_DIR", "MLFLOW_TAGS"):
        monkeypatch.setenv(key, "")  # recorded, so the values the worker sets are undone after the test
        monkeypatch.delenv(key)
    # a real worker process, as in use: trackers read their settings when first imported, and flush on exit
    from tailor.engine.executors.local import LocalExecutor

    executor = LocalExecutor(workspace, env={**WORKER_ENV, "WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    overrides = {**SHORT, "train.report_to": ["tensorboard", "mlflow", "wandb", "trackio"]}
    status = executor.control.launch(workspace.recipes_dir / "demo-sft.yaml", overrides=overrides)
    final = wait_terminal(executor, status.run_id, timeout=600)
    run = workspace.run(status.run_id)
    assert final.state == RunState.SUCCEEDED, (final.error, tail(run.stderr_file))
    losses = _losses(run)
    assert len(losses) == 4, losses

    # TensorBoard, read with TensorBoard's own reader
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (logdir,) = {p.parent for p in (run.path / "tensorboard").rglob("events.out.tfevents.*")}
    acc = EventAccumulator(str(logdir), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    tb = {e.step: e.value for e in acc.Scalars("train/loss")}
    assert tb.keys() == losses.keys()
    assert all(abs(tb[s] - losses[s]) < 1e-5 for s in losses)

    # MLflow, read with the MLflow client from the run's store
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{run.path / 'mlflow' / 'mlflow.db'}")
    (exp,) = [e for e in client.search_experiments() if e.name == "tailor"]
    (mrun,) = client.search_runs([exp.experiment_id])
    assert mrun.info.run_name == run.run_id
    assert mrun.data.tags["tailor.run_id"] == run.run_id
    assert mrun.data.tags["tailor.model.name_or_path"] == "tailor/tiny"
    history = {m.step: m.value for m in client.get_metric_history(mrun.info.run_id, "loss")}
    assert history.keys() == losses.keys()
    assert all(abs(history[s] - losses[s]) < 1e-5 for s in losses)

    # wandb offline: its transaction log, records decoded with wandb's own protobuf classes
    (wandb_file,) = (run.path / "wandb").glob("offline-run-*/run-*.wandb")
    from wandb.proto import wandb_internal_pb2

    wb: dict[int, float] = {}
    config_keys: set[str] = set()
    for data in _wandb_records(wandb_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        if record.WhichOneof("record_type") == "history":
            row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            if "train/loss" in row:
                wb[int(row["train/global_step"])] = row["train/loss"]
        elif record.WhichOneof("record_type") == "config":
            config_keys |= {item.key for item in record.config.update}
        elif record.WhichOneof("record_type") == "run":
            assert record.run.display_name == run.run_id
            assert f"tailor.run_id={run.run_id}" in record.run.tags
    assert wb.keys() == losses.keys()
    assert all(abs(wb[s] - losses[s]) < 1e-5 for s in losses)
    assert "tailor.method" in config_keys

    # trackio: its local SQLite store inside the run directory
    (db,) = (run.path / "trackio").glob("*.db")
    deadline = time.monotonic() + 30  # trackio writes from a background thread after the run ends
    while True:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT step, metrics FROM metrics WHERE run_name = ?", (run.run_id,)).fetchall()
        if sum("train/loss" in json.loads(m) for _, m in rows) >= len(losses) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # trackio's own step counts log calls; the trainer's step is in the metrics
    tr = {int(m["train/global_step"]): m["train/loss"] for m in map(json.loads, (r[1] for r in rows)) if "train/loss" in m}
    assert tr.keys() == losses.keys()
    assert all(abs(tr[s] - losses[s]) < 1e-5 for s in losses)


def _wandb_records(path):
    """The protobuf records of a wandb transaction log (wandb 0.31 dropped its Python reader; the format
    is a 7-byte ``:W&B`` header, then LevelDB-log blocks of 32 KiB: crc32, length, type, payload)."""
    import zlib

    raw = path.read_bytes()
    assert raw[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        crc, length, kind = int.from_bytes(raw[pos:pos + 4], "little"), int.from_bytes(raw[pos + 4:pos + 6], "little"), raw[pos + 6]
        payload = raw[pos + 7:pos + 7 + length]
        if kind == 0 and length == 0:
            break
        assert zlib.crc32(bytes([kind]) + payload) & 0xFFFFFFFF == crc
        pos += 7 + length
        pending += payload
        if kind in (1, 4):  # FULL or LAST
            yield pending
            pending = b""


def test_report_to_is_checked_when_the_recipe_loads(workspace) -> None:
    from train_helpers import recipe_data

    data = recipe_data(workspace, "demo-sft.yaml", {"train.report_to": "tensorbord"})
    with pytest.raises(RecipeError, match="report_to: unknown tracker 'tensorbord'"):
        parse_recipe(data, source="r.yaml", base_dir=workspace.recipes_dir)
    data = recipe_data(workspace, "demo-sft.yaml", {"train.report_to": ["comet", "none"]})
    assert parse_recipe(data, source="r.yaml", base_dir=workspace.recipes_dir).train["report_to"] == ["comet", "none"]


def test_a_missing_tracker_fails_before_training_with_the_pip_line(workspace) -> None:
    from train_helpers import run_worker

    from tailor.engine.runs.status import RunState

    run = make_run(workspace, "demo-sft.yaml", {**SHORT, "train.report_to": "swanlab"})
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert status.error is not None and "pip install swanlab" in status.error
    assert not (run.path / "adapter").exists()


def test_fetch_manifest_lists_tracker_stores(tmp_path, capsys) -> None:
    """What `tailor fetch` / the mirror brings back from a host includes the trackers' folders."""
    from tailor.engine.remote.server import RemoteWorkspace, op_manifest
    from tailor.engine.runs import RunDir, Status

    ws = RemoteWorkspace(str(tmp_path)).ensure()
    run = RunDir.create(ws.runs_dir, "r-1", "kind: sft\n", Status(run_id="r-1", kind="sft"))
    for rel in ("tensorboard/events.out.tfevents.1", "mlflow/mlflow.db", "wandb/offline-run-x/run-x.wandb", "trackio/tailor.db"):
        (run.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (run.path / rel).write_bytes(b"x")
    op_manifest(ws, ["r-1"])
    listed = {f["path"] for f in json.loads(capsys.readouterr().out)["files"]}
    assert {"tensorboard/events.out.tfevents.1", "mlflow/mlflow.db", "wandb/offline-run-x/run-x.wandb", "trackio/tailor.db"} <= listed


def test_tracker_secrets_follow_the_secrets_path() -> None:
    """Tracker keys go to remote workers the way HF_TOKEN does (stdin), never as `env K=V` in argv."""
    from tailor.engine.remote.quoting import secrets_from

    environ = {"WANDB_API_KEY": "w", "MLFLOW_TRACKING_TOKEN": "m", "COMET_API_KEY": "c", "WANDB_PROJECT": "p"}
    assert secrets_from(environ) == {"WANDB_API_KEY": "w", "MLFLOW_TRACKING_TOKEN": "m", "COMET_API_KEY": "c"}
