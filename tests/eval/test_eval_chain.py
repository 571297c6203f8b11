"""Evaluation loads a chained run (``from_run``) exactly as its last training run saw it.

Real short runs on the tiny model: SFT(lora) -> DPO(merge) -> KTO(stack), and a full-model SFT -> DPO(merge).
Each loaded model must reproduce the logits the training run recorded at its end
(eval/reference_logits.safetensors), with the trainer's lineage file and without it (walking the recorded
links), after the recipes' ``from_run`` prefixes became ambiguous, and in a moved workspace.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tailor.engine.eval.candidates import Candidate, load_candidate, run_candidate
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import Status
from tailor.engine.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dpo"))
from dpo_helpers import make_run, succeeded  # tests/dpo is not a package

SHORT: dict[str, Any] = {
    "train.max_steps": 2,
    "train.logging_steps": 1,
    "train.per_device_train_batch_size": 4,
    "train.save_steps": 100,
    "data.eval": None,
}
SFT = {**SHORT, "train.max_steps": 4, "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 16}]}
PREFS = {**SHORT, "data.train": [{"path": "../data/reverse-preference/train.jsonl", "max_rows": 8}]}
KTO = {**SHORT, "data.train": [{"path": "../data/reverse-kto/train.jsonl", "max_rows": 8}]}
ATOL = 1e-4


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("eval-chain") / "ws").ensure()


def prefix(run: RunDir) -> str:
    return run.run_id[:-3]  # unique now; test_ambiguous_prefixes makes it ambiguous later


@pytest.fixture(scope="module")
def lora_chain(ws: Workspace) -> tuple[RunDir, RunDir, RunDir]:
    """SFT (LoRA r=8) -> DPO merged onto it (a new r=16 adapter) -> KTO stacked on the DPO adapter."""
    sft = make_run(ws, "demo-sft.yaml", {**SFT, "lora.r": 8})
    succeeded(sft)
    dpo = make_run(ws, "demo-dpo.yaml", {**PREFS, "from_run": prefix(sft)})  # from_run_mode: merge (default)
    succeeded(dpo)
    kto = make_run(ws, "demo-kto.yaml", {**KTO, "from_run": prefix(dpo), "from_run_mode": "stack"})
    succeeded(kto)
    return sft, dpo, kto


@pytest.fixture(scope="module")
def full_chain(ws: Workspace) -> tuple[RunDir, RunDir]:
    """A full fine-tune (SFT, method full: a whole model in adapter/) -> DPO (LoRA) merged onto it."""
    full = make_run(ws, "demo-sft.yaml", {**SFT, "method": "full", "train.learning_rate": 1e-3})
    succeeded(full)
    dpo = make_run(ws, "demo-dpo.yaml", {**PREFS, "from_run": prefix(full)})
    succeeded(dpo)
    return full, dpo


def loaded(ws: Workspace, run: RunDir) -> tuple[Candidate, float]:
    """The candidate evaluation builds for ``run`` and the largest logit difference of the model it loads
    against the logits the training run recorded at its end."""
    from tailor.engine.train.loop import compare_logits, load_reference_logits

    reference = load_reference_logits(run)
    assert reference is not None, f"{run.run_id} recorded no reference logits"
    cand = run_candidate(ws, run.run_id)
    model, _ = load_candidate(cand)
    return cand, compare_logits(reference, model.cpu())


def lineage(run: RunDir) -> dict[str, Any]:
    return json.loads((run.adapter_dir / "tailor_lineage.json").read_text())


@contextlib.contextmanager
def without_lineage(*runs: RunDir) -> Iterator[None]:
    """Hide the trainer's lineage files, so evaluation has to walk the recorded links instead."""
    moved = []
    try:
        for run in runs:
            path = run.adapter_dir / "tailor_lineage.json"
            path.rename(path.with_suffix(".hidden"))
            moved.append(path)
        yield
    finally:
        for path in moved:
            path.with_suffix(".hidden").rename(path)


def test_stack_keeps_the_merges_above_it(ws: Workspace, lora_chain: tuple[RunDir, RunDir, RunDir]) -> None:
    sft, dpo, kto = lora_chain
    # what the trainers recorded: the KTO adapter continues the DPO adapter on base + SFT merged
    assert lineage(dpo)["merge_first"] == [str(sft.adapter_dir)]
    assert lineage(kto)["merge_first"] == [str(sft.adapter_dir)] and lineage(kto)["from_run_mode"] == "stack"
    for run, merged in ((sft, []), (dpo, [sft.adapter_dir]), (kto, [sft.adapter_dir])):
        cand, diff = loaded(ws, run)
        assert cand.merge_first == merged and cand.base.name_or_path == "tailor/tiny", run.run_id
        assert diff < ATOL, (run.run_id, diff)


def test_the_walk_without_lineage_files_agrees(ws: Workspace, lora_chain: tuple[RunDir, RunDir, RunDir]) -> None:
    sft, dpo, kto = lora_chain
    with without_lineage(dpo, kto):
        for run in (dpo, kto):
            cand, diff = loaded(ws, run)
            assert cand.merge_first == [sft.adapter_dir], run.run_id
            assert diff < ATOL, (run.run_id, diff)


def test_full_model_ancestor_is_the_new_base(ws: Workspace, full_chain: tuple[RunDir, RunDir]) -> None:
    full, dpo = full_chain
    assert (full.adapter_dir / "config.json").is_file() and not (full.adapter_dir / "adapter_config.json").exists()
    assert lineage(dpo)["base_model"] == str(full.adapter_dir)
    for hidden in ((), (dpo,)):
        with without_lineage(*hidden):
            cand, diff = loaded(ws, dpo)
            assert cand.merge_first == [] and cand.base.name_or_path == str(full.adapter_dir)
            assert diff < ATOL, diff
    cand, diff = loaded(ws, full)  # the full model itself, as before
    assert cand.base.name_or_path == "tailor/tiny" and diff < ATOL


def test_stack_below_a_full_model_ancestor(ws: Workspace, full_chain: tuple[RunDir, RunDir]) -> None:
    """full SFT -> DPO (merge) -> KTO (stack): the KTO adapter applies to the full model, nothing merged.

    The recipe keeps its own ``model:`` (tailor/tiny): the trainer starts from the chain's full-model base.
    """
    full, dpo = full_chain
    kto = make_run(ws, "demo-kto.yaml", {**KTO, "from_run": dpo.run_id, "from_run_mode": "stack"})
    succeeded(kto)
    for hidden in ((), (dpo, kto)):
        with without_lineage(*hidden):
            cand, diff = loaded(ws, kto)
            assert cand.merge_first == [] and cand.base.name_or_path == str(full.adapter_dir)
            assert diff < ATOL, diff


def test_ambiguous_prefixes_load_through_the_recorded_paths(
    ws: Workspace, lora_chain: tuple[RunDir, RunDir, RunDir], full_chain: tuple[RunDir, RunDir]
) -> None:
    """Runs created after the chain trained share the prefixes its recipes name in ``from_run``."""
    from tailor.engine.errors import RunError

    sft, dpo, kto = lora_chain
    for parent in (sft, dpo, full_chain[0]):
        for tail in ("xyz", "zzz"):
            run_id = prefix(parent) + tail
            RunDir.create(ws.runs_dir, run_id, parent.recipe_file.read_text(), Status(run_id=run_id, kind="sft"))
        with pytest.raises(RunError, match="ambiguous"):
            ws.run(prefix(parent))
    for hidden in ((), (dpo, kto, full_chain[1])):
        with without_lineage(*hidden):
            for run, merged in ((dpo, [sft.adapter_dir]), (kto, [sft.adapter_dir]), (full_chain[1], [])):
                cand, diff = loaded(ws, run)
                assert cand.merge_first == merged and diff < ATOL, (run.run_id, diff)


def test_a_moved_workspace_still_loads(ws: Workspace, lora_chain: tuple[RunDir, RunDir, RunDir], full_chain: tuple[RunDir, RunDir]) -> None:
    """Recorded paths are absolute; a moved (or fetched) workspace finds the same run ids in its runs/."""
    old = ws.root
    new = old.with_name("moved-ws")
    old.rename(new)
    try:
        moved = Workspace(new)
        for run in (lora_chain[2], full_chain[1]):
            here = moved.runs_dir / run.run_id
            for hidden in ((), (RunDir(here),)):
                with without_lineage(*hidden):
                    cand, diff = loaded(moved, RunDir(here))
                    assert all(new in p.parents for p in cand.merge_first)
                    assert cand.base.name_or_path == "tailor/tiny" or new in Path(cand.base.name_or_path).parents
                    assert diff < ATOL, (run.run_id, diff)
    finally:
        new.rename(old)
