"""Padding-free SFT batches (engine/train/padding_free.py): on by default where the model keeps packed rows
apart, with the same per-step losses as padded batches; off, with a warning, for a model whose attention
ignores restarting positions (a real transformers OPT); refused when the recipe forces it on such a model."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import SHORT, logs, make_run, metrics, run_worker, succeeded

from tailor.engine.runs.status import RunState


def _uneven(workspace) -> dict:
    """Reversal rows of 1 to 60 letters, so a padded batch really pads (the demo's rows are all alike)."""
    import json
    import random

    rnd = random.Random(0)
    folder = workspace.data_dir / "uneven"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", 32), ("eval", 8)):
        words = ["".join(rnd.choice("abcdefgh") for _ in range(rnd.choice([1, 2, 3, 40, 60]))) for _ in range(n)]
        rows = [{"prompt": f"Reverse: {w}", "completion": w[::-1]} for w in words]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # raw: concatenated as written, so the 40- and 60-letter rows fit max_length 64 with part of their answer
    return {"data.train": [{"path": "../data/uneven/train.jsonl"}], "data.eval": [{"path": "../data/uneven/eval.jsonl"}],
            "prompt_completion": "raw"}


def _opt_model(folder: Path) -> Path:
    """A small random OPT (a real transformers architecture whose attention ignores ``position_ids``) with
    the tiny model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

    from tailor.engine.models.tiny import tiny_path

    tokenizer = AutoTokenizer.from_pretrained(tiny_path())
    config = OPTConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, ffn_dim=64,
        word_embed_proj_dim=32, max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    OPTForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_padding_free_is_on_by_default_and_trains_the_same_losses(workspace) -> None:
    uneven = _uneven(workspace)
    free = make_run(workspace, "demo-sft.yaml", {**SHORT, **uneven})
    padded = make_run(workspace, "demo-sft.yaml", {**SHORT, **uneven, "train.padding_free": False})
    succeeded(free), succeeded(padded)
    assert "padding-free batching: on" in "\n".join(logs(free))
    assert "padding-free batching" not in "\n".join(logs(padded))
    a, b = metrics(free), metrics(padded)
    assert [m["num_tokens"] for m in a] == [m["num_tokens"] for m in b]
    for x, y in zip(a, b, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-4)
    assert metrics(free, "eval")[-1]["eval_loss"] == pytest.approx(metrics(padded, "eval")[-1]["eval_loss"], rel=1e-4)


def test_the_check_tells_a_model_that_mixes_packed_rows(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from tailor.engine.models.tiny import tiny_path
    from tailor.engine.train.padding_free import packed_rows_stay_apart

    ok, error = packed_rows_stay_apart(AutoModelForCausalLM.from_pretrained(tiny_path()), 64)
    assert ok and error < 1e-5
    ok, error = packed_rows_stay_apart(AutoModelForCausalLM.from_pretrained(_opt_model(tmp_path / "opt")), 64)
    assert not ok and error > 1e-2


@pytest.mark.slow
def test_a_model_that_mixes_rows_trains_padded_and_a_forced_recipe_is_refused(workspace, tmp_path: Path) -> None:
    opt = str(_opt_model(tmp_path / "opt"))
    short = {**SHORT, **_uneven(workspace), "train.max_steps": 1, "train.eval_steps": 1, "model.name_or_path": opt, "model.chat_template": None}
    run = make_run(workspace, "demo-sft.yaml", short)
    succeeded(run)
    assert "padding-free batching: off — this model's attention does not keep packed rows apart" in "\n".join(logs(run))

    forced = make_run(workspace, "demo-sft.yaml", {**short, "train.padding_free": True})
    status = run_worker(forced)
    assert status.state == RunState.FAILED
    assert "train.padding_free: this model's attention does not keep packed rows apart" in (status.error or "")
    assert not forced.adapter_dir.exists()


def test_the_estimate_weighs_padding_saved_against_attention_spent() -> None:
    from tailor.engine.train.padding_free import estimated_gain

    alike, uneven = [300] * 64, [30, 60, 900, 120] * 16
    assert estimated_gain(alike, 4, 576, "sdpa") < 1  # nothing padded, and the flattened attention costs more
    assert estimated_gain(uneven, 4, 576, "sdpa") > 1.5
    assert estimated_gain(alike, 4, 576, "flash_attention_2") == 1  # per-row kernels: never worse
    assert estimated_gain([2000, 50] * 32, 8, 256, "sdpa") < 1  # long rows, narrow model: attention dominates
