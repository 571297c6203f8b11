"""``kind: merge`` / ``tailor merge``: PEFT's combinations of LoRA adapters as ordinary runs."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from train_helpers import make_run, run_worker, succeeded, wait_terminal

from tailor.engine.runs.status import RunState

# LoRA on every linear layer and the embeddings, no modules_to_save (PEFT cannot merge full module copies).
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "embed_tokens"]


def task_data(ws, name: str, verb: str, answer) -> str:
    """A second demo task beside reverse: the same words, another instruction."""
    folder = ws.data_dir / name
    folder.mkdir(exist_ok=True)
    for split in ("train", "eval"):
        rows = []
        for line in (ws.data_dir / "reverse" / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            word = row["prompt"][0]["content"].split(": ", 1)[1]
            rows.append({"prompt": [{"role": "user", "content": f"{verb}: {word}"}],
                         "completion": [{"role": "assistant", "content": answer(word)}]})
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f"../data/{name}"


def adapter_run(ws, data: str, steps: int, seed: int = 1):
    run = make_run(ws, "demo-sft.yaml", {
        "name": data.rsplit("/", 1)[1], "seed": seed,
        "lora.modules_to_save": None, "lora.target_modules": TARGETS,
        "data.train": [{"path": f"{data}/train.jsonl"}], "data.eval": [{"path": f"{data}/eval.jsonl", "max_rows": 20}],
        "train.max_steps": steps, "train.eval_steps": steps, "train.save_steps": 1000, "train.logging_steps": max(1, steps // 4),
    })
    succeeded(run)
    return run


def merge_run(ws, runs, combination: str, weights=None, **extra):
    recipe = {"kind": "merge", "name": f"m-{combination}", "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
              "adapters": [{"run": r.run_id, "weight": w} for r, w in zip(runs, weights or [1.0] * len(runs), strict=True)],
              "combination_type": combination, **extra}
    return make_run(ws, recipe)


def logits(cand_ref: str, ws):
    import torch

    from tailor.engine.eval.candidates import load_candidate, run_candidate

    model, tok = load_candidate(run_candidate(ws, cand_ref))
    ids = tok("Reverse: abcd", return_tensors="pt").input_ids
    with torch.no_grad():
        return model(ids).logits


@pytest.mark.slow
def test_linear_merge_with_weights_one_zero_is_the_first_adapter(workspace) -> None:
    rev = adapter_run(workspace, "../data/reverse", 6)
    rep = adapter_run(workspace, task_data(workspace, "repeat", "Repeat", lambda w: w), 6)
    run = merge_run(workspace, [rev, rep], "linear", [1.0, 0.0])
    succeeded(run)
    assert run.read_status().links["merged_from"] == [rev.run_id, rep.run_id]
    lineage = json.loads((run.adapter_dir / "tailor_lineage.json").read_text())
    assert lineage["base_model"] == "tailor/tiny" and lineage["combination_type"] == "linear"
    diff = (logits(run.run_id, workspace) - logits(rev.run_id, workspace)).abs().max().item()
    assert diff < 1e-4, diff
    # the merged run is a model: an evaluation candidate and exportable
    from tailor.engine.exporters.targets import export

    report = export(run, workspace.root / "merged-out", merge=True)
    assert report.kind == "merged" and report.verified is True
    # ... and a from_run parent: a short DPO run starts from the merged adapter
    child = make_run(workspace, "demo-dpo.yaml", {
        "from_run": run.run_id, "train.max_steps": 2, "train.logging_steps": 1, "train.per_device_train_batch_size": 4,
        "train.save_steps": 100, "data.eval": None,
        "data.train": [{"path": "../data/reverse-preference/train.jsonl", "max_rows": 8}],
    })
    succeeded(child)
    assert child.read_status().links["from_run_kind"] == "merge"
    # the CLI twin: writes recipes/NAME.yaml (the base filled in from the first run) and launches a worker
    from tailor.engine.executors.local import LocalExecutor
    from tailor.tui.cli import cli

    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "merge", rev.run_id, rep.run_id, "-o", "cli-both", "-c", "cat"])
    assert result.exit_code == 0, result.output
    recipe = yaml.safe_load((workspace.recipes_dir / "cli-both.yaml").read_text())
    assert recipe["model"] == {"dtype": "float32"} and recipe["combination_type"] == "cat"  # tailor/tiny, as trained
    status = wait_terminal(LocalExecutor(workspace), result.output.strip().splitlines()[-1], timeout=300)
    assert status.state == RunState.SUCCEEDED, status.error


@pytest.mark.slow
def test_adapters_that_cannot_merge_are_refused(workspace) -> None:
    plain = adapter_run(workspace, "../data/reverse", 2)
    saved = make_run(workspace, "demo-sft.yaml", {"train.max_steps": 2, "train.eval_steps": 2, "train.save_steps": 100})
    succeeded(saved)  # the demo recipe trains full copies of lm_head and embed_tokens
    run = merge_run(workspace, [plain, saved], "ties")
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert "modules_to_save" in status.error and "PEFT cannot combine" in status.error and saved.run_id in status.error

    # an adapter trained on another base (a full fine-tune of tiny saved as a model folder)
    full = make_run(workspace, "demo-sft.yaml", {"method": "full", "train.max_steps": 2, "train.eval_steps": 2, "train.save_steps": 100})
    succeeded(full)
    on_full = make_run(workspace, "demo-sft.yaml", {
        "model.name_or_path": str(full.adapter_dir), "lora.modules_to_save": None,
        "train.max_steps": 2, "train.eval_steps": 2, "train.save_steps": 100,
    })
    succeeded(on_full)
    run = merge_run(workspace, [plain, on_full], "ties")
    status = run_worker(run)
    assert status.state == RunState.FAILED
    assert f"different bases: {plain.run_id} was trained on tailor/tiny, {on_full.run_id} on {full.adapter_dir}" in status.error


@pytest.mark.slow
def test_ties_merge_scores_on_both_tasks(workspace, capsys) -> None:
    from tailor.engine.eval.results import load_results

    rev = adapter_run(workspace, "../data/reverse", 160)
    up = adapter_run(workspace, task_data(workspace, "repeat", "Repeat", lambda w: w), 160)
    ties = merge_run(workspace, [rev, up], "ties", density=0.5)
    succeeded(ties)
    table = {}
    for task in ("reverse", "repeat"):
        ev = make_run(workspace, {
            "kind": "eval", "name": f"ev-{task}", "model": {"name_or_path": "tailor/tiny", "dtype": "float32"},
            "data": [{"path": f"../data/{task}/eval.jsonl", "max_rows": 24}],
            "runs": [rev.run_id, up.run_id, ties.run_id], "zero_shot": True, "few_shot": {"k": 0},
            "metrics": ["eval_loss", "token_f1"], "generation": {"max_new_tokens": 6, "batch_size": 24},
        })
        succeeded(ev)
        for row in load_results(ev.eval_dir).models:
            table.setdefault(row.run_id or "base", {})[task] = row.metrics
    with capsys.disabled():
        print("\nTIES merge vs its sources (eval_loss / token_f1 on 24 held-out words per task):")
        for label, key in (("base", "base"), ("reverse adapter", rev.run_id), ("repeat adapter", up.run_id), ("TIES merge", ties.run_id)):
            cells = [f"{table[key][t]['eval_loss']:.3f} / {table[key][t]['token_f1']:.3f}" for t in ("reverse", "repeat")]
            print(f"  {label:16} reverse {cells[0]:16} repeat {cells[1]}")
    base, rv, rp, tm = table["base"], table[rev.run_id], table[up.run_id], table[ties.run_id]
    # each source is better on its own task than the other source
    assert rv["reverse"]["eval_loss"] < rp["reverse"]["eval_loss"] and rp["repeat"]["eval_loss"] < rv["repeat"]["eval_loss"]
    # the merged run is scored on both tasks like any run and carries what its sources learnt: on each task
    # it is ahead of the base model that never trained (measured with the loss on the answer and its
    # end-of-turn marker, as SFT trains it: reverse 3.95 vs 4.7, repeat 3.95 vs 4.7; a source stays best on
    # its own task). Beating the other source on each task, as it did when the line break after the marker
    # was trained and scored too, is within noise at this size and is not asserted.
    assert tm["reverse"]["eval_loss"] < base["reverse"]["eval_loss"] and tm["repeat"]["eval_loss"] < base["repeat"]["eval_loss"]
    assert tm["reverse"]["eval_loss"] < rp["reverse"]["eval_loss"]


def test_tailor_merge_writes_the_recipe_and_checks_weights(workspace) -> None:
    from tailor.tui.cli import cli

    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "merge", "a", "b", "-o", "m", "--weights", "1"])
    assert result.exit_code == 2 and "--weights 1: 1 weights for 2 runs" in result.output
