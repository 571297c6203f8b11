"""Resume on the real model: SmolLM2-135M-Instruct cancelled mid-run, resumed from its checkpoint (the base
model plus the checkpoint's adapter, optimizer and RNG state), trains on as an uninterrupted twin does."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import Chain, identity_rows, sft_recipe
from run_helpers import queue_run, run_worker

from tailor.engine.fingerprint import FINGERPRINT_FILE, check_resume
from tailor.engine.recipes.load import parse_recipe
from tailor.engine.runs.status import RunState

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
STEPS, STOP_AT = 6, 3  # short: the suite runs on 2 cores; the curve after step 3 is what is compared


def test_the_loss_after_a_resume_continues_the_uninterrupted_curve(tmp_path: Path, smollm2_gguf: Path, chain: Chain) -> None:
    from tailor.engine.workspace import Workspace

    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (shared / "llamafactory" / "identity.json").is_file():
        pytest.skip(f"{shared} is missing (CI puts ../shared beside the clone)")
    ws = Workspace(tmp_path / "ws").ensure()
    identity = ws.root / "data" / "identity.json"
    identity.parent.mkdir(parents=True, exist_ok=True)
    identity.write_text(json.dumps(identity_rows(shared)), encoding="utf-8")
    recipe = sft_recipe(smollm2_gguf, identity)
    recipe["train"].update(max_steps=STEPS, logging_steps=1)

    def queued():
        return queue_run(ws, parse_recipe(recipe, source=str(ws.recipes_dir / "r.yaml"), base_dir=ws.recipes_dir))

    # The uninterrupted twin is the shared chain's SFT run: the same recipe, seed and data at a constant
    # learning rate, so its first STEPS steps are what this run must repeat (max_steps only sets where
    # it stops, inside the first epoch either way).
    twin = chain.sft
    run = queued()
    stop = threading.Event()

    def cancel_mid_run() -> None:  # as `tailor cancel` does: the trainer saves a checkpoint and stops
        while not stop.wait(0.05):
            if run.read_status().step >= STOP_AT:
                run.request_cancel()
                return

    watcher = threading.Thread(target=cancel_mid_run, daemon=True)
    watcher.start()
    assert run_worker(run).state == RunState.CANCELLED
    stop.set()
    (checkpoint,) = run.checkpoints_dir.glob("checkpoint-*")
    saved = int(checkpoint.name.split("-")[1])
    assert STOP_AT <= saved < STEPS and (checkpoint / FINGERPRINT_FILE).is_file()
    assert check_resume(run).changes == []
    run.requeue()
    assert run_worker(run, resume=True).state == RunState.SUCCEEDED

    def losses(r) -> dict[int, float]:
        return {e["step"]: e["values"]["loss"] for e in r.events() if e["type"] == "metric" and e["split"] == "train"}

    after, same = losses(run), losses(twin)
    assert sorted(after) == list(range(1, STEPS + 1))
    gaps = {s: abs(after[s] - same[s]) / same[s] for s in range(saved + 1, STEPS + 1)}
    print(f"resumed at {saved}: relative loss gaps to the twin {gaps}")
    assert max(gaps.values()) < 0.02, gaps
