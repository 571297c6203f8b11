"""Every tuning method and data format does real SFT steps on the tiny model (in this process, via the
worker's own entry point), and its saved result reloads to exactly the logits the run ended with."""

from __future__ import annotations

from typing import Any

import pytest
from train_helpers import SHORT, load_result, logs, make_run, metrics, reference_logits_match, succeeded

from tailor.engine.errors import RunError

MESSAGES = {
    "data.train": [{"path": "../data/reverse-messages/train.jsonl", "max_rows": 32}],
    "data.eval": [{"path": "../data/reverse-messages/eval.jsonl", "max_rows": 8}],
}
TEXT = {
    "data.train": [{"path": "../data/reverse-text/train.jsonl", "max_rows": 32}],
    "data.eval": [{"path": "../data/reverse-text/eval.jsonl", "max_rows": 8}],
}
CASES: dict[str, dict[str, Any]] = {
    "lora": {},
    "dora": {"lora.use_dora": True},
    "rslora": {"lora.use_rslora": True},
    "full": {"method": "full"},
    "partial": {"method": "partial", "partial.trainable_layers": 1},
    "prompt_tuning": {"method": "prompt_tuning", "prompt.num_virtual_tokens": 4, "prompt.prompt_tuning_init_text": "Reverse it"},
    "prefix_tuning": {"method": "prefix_tuning", "prompt.num_virtual_tokens": 4, "train.gradient_checkpointing": True},
    "messages": MESSAGES,
    "text_packing": {**TEXT, "train.packing": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_method_trains_saves_and_reloads_to_the_same_logits(workspace, case: str) -> None:
    run = make_run(workspace, "demo-sft.yaml", {**SHORT, **CASES[case]})
    status = succeeded(run)
    train = metrics(run)
    assert [m["step"] for m in train] == [1, 2, 3, 4]
    assert all({"loss", "learning_rate", "grad_norm"} <= set(m) for m in train)
    assert [m["step"] for m in metrics(run, "eval")] == [2, 4]
    assert (status.step, status.total_steps) == (4, 4)
    events = run.events()
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    artifact = next(e for e in events if e["type"] == "artifact")
    assert artifact["path"] == "adapter" and artifact["method"] == CASES[case].get("method", "lora")

    model = load_result(run)
    assert reference_logits_match(run, model) < 1e-5
    if case == "prefix_tuning":
        assert "gradient checkpointing turned off: prefix tuning does not work with it" in logs(run)
    if case == "messages":
        assert any(m.startswith("loss: the assistant's turns only, each with its end-of-turn marker") for m in logs(run))


def test_lora_changes_the_model_so_the_logit_check_can_fail(workspace) -> None:
    from transformers import AutoModelForCausalLM

    from tailor.engine.models.tiny import tiny_path

    run = make_run(workspace, "demo-sft.yaml", SHORT)
    succeeded(run)
    base = AutoModelForCausalLM.from_pretrained(tiny_path())
    assert reference_logits_match(run, base) > 1e-2  # the base alone does not reproduce the trained logits


def test_merge_refused_for_prompt_tuning_and_copy_for_partial(workspace, tmp_path) -> None:
    from transformers import AutoModelForCausalLM

    from tailor.engine.export import export_run

    prompt = make_run(workspace, "demo-sft.yaml", {**SHORT, **CASES["prompt_tuning"], "train.max_steps": 1})
    succeeded(prompt)
    with pytest.raises(RunError, match="prompt_tuning, which cannot be merged"):
        export_run(prompt, tmp_path / "merged", merge=True)
    assert not (tmp_path / "merged").exists()

    partial = make_run(workspace, "demo-sft.yaml", {**SHORT, **CASES["partial"], "train.max_steps": 1})
    succeeded(partial)
    result = export_run(partial, tmp_path / "model", merge=True)
    assert result.kind == "model"
    assert reference_logits_match(partial, AutoModelForCausalLM.from_pretrained(result.path)) < 1e-5


def test_partial_freezes_all_but_the_top_layers(workspace) -> None:
    run = make_run(workspace, "demo-sft.yaml", {**SHORT, **CASES["partial"], "train.max_steps": 1})
    succeeded(run)
    line = next(m for m in logs(run) if m.startswith("method partial:"))
    # one of four decoder layers (~166k) + head (13k) + final norm: about a quarter of the 0.68M weights
    trainable = int(line.split(":")[1].split("trainable")[0].replace(",", ""))
    assert 150_000 < trainable < 250_000
    assert "partial: training the top 1 of 4 decoder layers + head" in logs(run)


def test_early_stopping_ends_training_when_eval_loss_stops_improving(workspace) -> None:
    # An improvement must exceed 100 to count, so the second evaluation already runs out of patience.
    run = make_run(
        workspace,
        "demo-sft.yaml",
        {**SHORT, "train.max_steps": 40, "early_stopping": {"patience": 1, "threshold": 100.0}},
    )
    succeeded(run)
    assert [m["step"] for m in metrics(run, "eval")] == [2, 4]
    assert metrics(run)[-1]["step"] == 4
    assert (run.adapter_dir / "adapter_model.safetensors").exists()
