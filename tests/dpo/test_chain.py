"""DPO chained from an SFT run: merged first or stacked, lineage recorded, and the result loads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dpo_helpers import logs, make_run, metrics, run_worker, succeeded

from tailor.engine import kinds
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState
from tailor.engine.workspace import Workspace

SHORT: dict[str, Any] = {
    "train.max_steps": 2,
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.save_steps": 100,
    "data.eval": None,
}
PREFS = {"data.train": [{"path": "../data/reverse-preference/train.jsonl", "max_rows": 8}]}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("chain") / "ws").ensure()


@pytest.fixture(scope="module")
def sft(ws: Workspace) -> RunDir:
    """A short real SFT run (LoRA r=8) to start from."""
    run = make_run(
        ws,
        "demo-sft.yaml",
        {
            **SHORT,
            "train.max_steps": 4,
            "lora.r": 8,
            "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 16}],
        },
    )
    succeeded(run)
    return run


def dpo(ws: Workspace, **overrides: Any) -> RunDir:
    run = make_run(ws, "demo-dpo.yaml", {**SHORT, **PREFS, **overrides})
    succeeded(run)
    return run


def loads_back(ws: Workspace, run: RunDir) -> None:
    """The run's result, loaded the way evaluation loads it, reproduces the logits recorded at the end."""
    from tailor.engine.eval.candidates import load_candidate, run_candidate
    from tailor.engine.train.loop import compare_logits, load_reference_logits

    reference = load_reference_logits(run)
    assert reference is not None
    model, _ = load_candidate(run_candidate(ws, run.run_id))
    assert compare_logits(reference, model.cpu()) < 1e-4


def first_rewards(run: RunDir) -> tuple[float, float]:
    first = metrics(run)[0]
    assert first["step"] == 1
    return first["rewards/chosen"], first["rewards/rejected"]


def test_dpo_merged_onto_an_sft_run(ws: Workspace, sft: RunDir) -> None:
    prefix = sft.run_id[:-3]  # a unique prefix is enough
    run = dpo(ws, from_run=prefix)
    links = run.read_status().links
    assert (
        links["from_run"] == sft.run_id
        and links["from_run_mode"] == "merge"
        and links["from_run_kind"] == "sft"
    )
    assert Path(links["from_run_path"]) == sft.path
    assert f"from_run {sft.run_id}: merged its adapter into the base; training a new lora" in logs(run)
    # The reference is the merged SFT model (the policy at step 1), so the first implicit rewards are zero.
    assert first_rewards(run) == (pytest.approx(0.0, abs=1e-6), pytest.approx(0.0, abs=1e-6))
    lineage = json.loads((run.adapter_dir / "tailor_lineage.json").read_text())
    assert lineage["base_model"] == "tailor/tiny" and lineage["merge_first"] == [str(sft.adapter_dir)]
    assert (
        json.loads((run.adapter_dir / "adapter_config.json").read_text())["r"] == 16
    )  # the DPO recipe's LoRA
    loads_back(ws, run)


def test_dpo_stacked_on_an_sft_run_keeps_training_its_adapter(ws: Workspace, sft: RunDir) -> None:
    run = dpo(ws, from_run=str(sft.path), from_run_mode="stack")
    assert run.read_status().links["from_run_mode"] == "stack"
    assert f"from_run {sft.run_id}: training its adapter further (the recipe's lora: is not used)" in logs(
        run
    )
    # TRL keeps a frozen copy of the SFT adapter as the reference: zero rewards at step 1 again.
    assert first_rewards(run) == (pytest.approx(0.0, abs=1e-6), pytest.approx(0.0, abs=1e-6))
    assert (
        json.loads((run.adapter_dir / "adapter_config.json").read_text())["r"] == 8
    )  # the SFT run's adapter
    assert not (run.adapter_dir / "ref").exists()
    assert json.loads((run.adapter_dir / "tailor_lineage.json").read_text())["merge_first"] == []
    # Every tensor of the parent's adapter kept training (LoRA A and B, the full copies of lm_head and
    # embed_tokens): none was left frozen, dropped or added.
    parent, child = adapter_tensors(sft), adapter_tensors(run)
    assert parent.keys() == child.keys() and {"base_model.model.lm_head.weight", "base_model.model.model.embed_tokens.weight"} < set(parent)
    assert [k for k in parent if parent[k].shape != child[k].shape or parent[k].equal(child[k])] == []
    loads_back(ws, run)


def test_stacked_run_starts_exactly_where_its_parent_ended(ws: Workspace, sft: RunDir) -> None:
    """At a learning rate of ~0 a stacked chain is its parent: the adapter is loaded once, on the right base, with
    nothing merged under it (a wrong base, a missing or twice-applied adapter would change these logits)."""
    from tailor.engine.train.loop import load_reference_logits

    run = dpo(ws, from_run=sft.run_id, from_run_mode="stack", **{"train.learning_rate": 1e-12})
    parent, child = load_reference_logits(sft), load_reference_logits(run)
    assert parent is not None and child is not None
    assert float((parent["logits"] - child["logits"]).abs().max()) < 1e-5
    loads_back(ws, run)


def adapter_tensors(run: RunDir) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(run.adapter_dir / "adapter_model.safetensors"))


def test_chain_of_chains_and_kto_from_a_dpo_run(ws: Workspace, sft: RunDir) -> None:
    first = dpo(ws, from_run=sft.run_id)
    second = make_run(
        ws,
        "demo-kto.yaml",
        {
            **SHORT,
            "from_run": first.run_id,
            "data.train": [{"path": "../data/reverse-kto/train.jsonl", "max_rows": 8}],
        },
    )
    succeeded(second)
    lineage = json.loads((second.adapter_dir / "tailor_lineage.json").read_text())
    assert lineage["merge_first"] == [str(sft.adapter_dir), str(first.adapter_dir)]
    assert second.read_status().links["from_run_kind"] == "dpo"
    loads_back(ws, second)


def test_stacked_run_resumes_from_its_checkpoint(ws: Workspace, sft: RunDir) -> None:
    run = dpo(ws, from_run=sft.run_id, from_run_mode="stack", **{"train.save_steps": 2})
    assert (run.checkpoints_dir / "checkpoint-2").is_dir()
    # Continue the same run for two more steps, as `tailor resume` would after a cancel.
    run.recipe_file.write_text(run.recipe_file.read_text().replace("max_steps: 2", "max_steps: 4"))
    from tailor.engine.worker.__main__ import main

    main([str(run.path), "--resume"])
    status = run.read_status()
    assert status.state == RunState.SUCCEEDED, status.error
    assert [m["step"] for m in metrics(run)] == [1, 2, 3, 4]
    assert "resuming from checkpoints/checkpoint-2" in logs(run)
    loads_back(ws, run)


def test_full_model_source_is_the_new_base(ws: Workspace) -> None:
    full = dpo(ws, method="full")
    run = dpo(ws, from_run=full.run_id)
    assert f"from_run {full.run_id}: starting from its full model" in logs(run)
    assert json.loads((run.adapter_dir / "tailor_lineage.json").read_text())["base_model"] == str(
        full.adapter_dir
    )
    stacked = make_run(
        ws, "demo-dpo.yaml", {**SHORT, **PREFS, "from_run": full.run_id, "from_run_mode": "stack"}
    )
    status = run_worker(stacked)
    assert status.state == RunState.FAILED
    assert (
        "saved a full model, not an adapter, so there is nothing to stack on; use from_run_mode: merge"
        in status.error
    )


@pytest.mark.parametrize(
    ("from_run", "extra", "expected"),
    [
        ("no-such-run", {}, "from_run: no run 'no-such-run'"),
        ("queued", {}, f"is queued; start from a succeeded {kinds.either(kinds.model_producing())} run"),
        (
            "sft",
            {"model": "some-org/other-model"},
            "model: 'some-org/other-model' is not 'tailor/tiny', the base model of run",
        ),
    ],
)
def test_bad_sources_fail_before_training(
    ws: Workspace, sft: RunDir, from_run: str, extra: dict, expected: str
) -> None:
    if from_run == "queued":
        from_run = make_run(ws, "demo-sft.yaml", SHORT).run_id  # created, never started
    elif from_run == "sft":
        from_run = sft.run_id
    run = make_run(ws, "demo-dpo.yaml", {**SHORT, **PREFS, "from_run": from_run, **extra})
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert expected in (status.error or ""), status.error
    assert str(run.recipe_file) in status.error and "\n" not in status.error
    assert not metrics(run)


def test_chained_dpo_through_the_local_executor(ws: Workspace, sft: RunDir) -> None:
    """The real path: `tailor run` freezes the recipe, a detached worker resolves from_run and trains."""
    import time

    from tailor.engine.executors.local import LocalExecutor

    executor = LocalExecutor(ws)
    overrides = {**SHORT, **PREFS, "from_run": sft.run_id, "from_run_mode": "stack"}
    launched = executor.control.launch(ws.recipes_dir / "demo-dpo.yaml", overrides=overrides)
    deadline = time.monotonic() + 300
    status = executor.control.status(launched.run_id)
    while not status.state.terminal and time.monotonic() < deadline:
        time.sleep(0.5)  # polling for the worker to finish, not a fixed wait
        status = executor.control.status(launched.run_id)
    run = ws.run(launched.run_id)
    assert status.state == RunState.SUCCEEDED, (status.error, run.stderr_file.read_text()[-2000:])
    assert status.links["from_run"] == sft.run_id and status.links["from_run_mode"] == "stack"
    assert {"rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected", "loss"} <= set(
        status.latest
    )
    assert (run.adapter_dir / "adapter_config.json").is_file()


def test_orpo_stacked_on_an_sft_run(ws: Workspace, sft: RunDir) -> None:
    run = dpo(ws, trainer="orpo", loss_type=None, from_run=sft.run_id, from_run_mode="stack")
    assert "ORPO (λ=0.1, no reference model), method lora from run " + sft.run_id + " (stack)" in logs(run)
    assert json.loads((run.adapter_dir / "adapter_config.json").read_text())["r"] == 8
    loads_back(ws, run)
