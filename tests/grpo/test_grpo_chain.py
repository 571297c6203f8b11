"""GRPO chained from an SFT run (stacked on its adapter, with a KL term), and the result loads back."""

from __future__ import annotations

import json

import pytest
from grpo_helpers import SHORT, finished, make_run, metrics


@pytest.mark.slow
def test_stack_on_an_sft_adapter_with_kl_and_load_back(workspace) -> None:
    from tailor.engine.eval.candidates import load_candidate, run_candidate
    from tailor.engine.train.loop import compare_logits, load_reference_logits

    sft = make_run(workspace, "demo-sft.yaml", {"train.max_steps": 2, "lora.r": 8, "data.eval": None,
                                                 "train.save_steps": 100,
                                                 "data.train": [{"path": "../data/reverse/train.jsonl", "max_rows": 16}]})
    finished(sft)
    evaluate = {"data": str(workspace.data_dir / "reverse" / "eval.jsonl"), "max_examples": 4, "metrics": ["exact_match"], "base": False,
                "generation": {"max_new_tokens": 6}}
    grpo = make_run(workspace, overrides={**SHORT, "from_run": sft.run_id, "from_run_mode": "stack", "beta": 0.04,
                                          "evaluate": evaluate})
    finished(grpo)
    from tailor.engine.eval.results import load_results

    (row,) = load_results(grpo.path).models  # the optional evaluate: block, on held-out prompt/completion rows
    assert row.run_id == grpo.run_id and row.error is None and row.metrics["exact_match"] is not None
    assert grpo.read_status().links["from_run"] == sft.run_id
    assert "kl" in metrics(grpo)[-1]  # beta > 0: TRL keeps a frozen copy of the stacked adapter as the reference
    config = json.loads((grpo.adapter_dir / "adapter_config.json").read_text())
    assert config["r"] == 8  # the SFT run's adapter kept training (the recipe's r: 16 is not used)
    assert not (grpo.adapter_dir / "ref").exists()  # the reference copy is not saved
    lineage = json.loads((grpo.adapter_dir / "tailor_lineage.json").read_text())
    assert lineage["from_run"] == sft.run_id and lineage["merge_first"] == []
    reference = load_reference_logits(grpo)
    model, _ = load_candidate(run_candidate(workspace, grpo.run_id))
    assert reference is not None and compare_logits(reference, model.cpu()) < 1e-4
