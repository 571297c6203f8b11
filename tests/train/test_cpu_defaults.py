"""Tailor's defaults on a machine without a GPU: bf16 autocast only where the CPU and the model make it pay, and
only for the training steps; TRL's fused LM head scoring only the trained positions."""

from __future__ import annotations

import pytest
import torch

from tailor.engine.train.config import CPU_BF16_MIN_HIDDEN, cpu_mixed_precision, model_width, native_cpu_bf16

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU defaults apply without a GPU")


def test_bf16_autocast_only_for_wide_models_on_a_cpu_that_multiplies_bf16() -> None:
    wide = cpu_mixed_precision(CPU_BF16_MIN_HIDDEN, {})
    assert wide == ({"bf16": True, "use_cpu": True} if native_cpu_bf16() else {})
    assert cpu_mixed_precision(128, {}) == {}  # the tiny model: the casts cost more than bf16 saves
    for field in ("bf16", "fp16", "use_cpu"):  # the recipe decides
        assert cpu_mixed_precision(4096, {field: False}) == {}


def test_the_defaults_build_a_trl_config_without_a_gpu(tmp_path) -> None:
    """TRL's own bf16 default refuses to start without a GPU unless use_cpu is set; Tailor's pair starts."""
    from trl import SFTConfig

    config = SFTConfig(output_dir=str(tmp_path), report_to="none", **{"bf16": False, **cpu_mixed_precision(4096, {})})
    assert config.bf16 == native_cpu_bf16()


def test_model_width_reads_a_folder_or_a_loaded_model(tmp_path) -> None:
    from transformers import LlamaConfig

    LlamaConfig(hidden_size=576, intermediate_size=64, num_hidden_layers=1, num_attention_heads=9).save_pretrained(tmp_path)
    assert model_width(tmp_path) == 576
    assert model_width(tmp_path / "missing") == 0


def _fused_loss_and_grads(model, ids: torch.Tensor, labels: torch.Tensor) -> tuple[float, list[torch.Tensor]]:
    model.zero_grad()
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    out.loss.backward()
    return out.loss.item(), [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_scoring_trained_positions_only_gives_the_same_loss_and_gradients() -> None:
    """TRL's fused LM head on a CPU, every position scored (TRL's own CPU path) and trained ones only (inside
    Tailor's switch): the same loss and gradients on rows with masked prompt and pad positions; TRL is left as
    it was afterwards, and the switch recognises the installed TRL (else it would log and stay off)."""
    from transformers import AutoModelForCausalLM, TrainingArguments
    from trl.trainer import utils

    from tailor.engine.models.tiny import tiny_path
    from tailor.engine.train.cpu import trained_positions_only, unexpected

    assert unexpected() is None
    model = AutoModelForCausalLM.from_pretrained(tiny_path(), dtype=torch.float32)
    utils.add_fused_lm_head(model)
    ids = torch.randint(5, 100, (2, 12), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :5] = -100  # the prompt
    labels[1, 9:] = -100  # padding
    every_position = _fused_loss_and_grads(model, ids, labels)
    notes: list[str] = []
    original = utils._use_triton
    args = TrainingArguments(output_dir="unused", report_to="none")
    with trained_positions_only(args, notes.append, 128) as on:  # narrow (the tiny model): TRL's own path
        assert not on and utils._use_triton is original
    with trained_positions_only(args, notes.append, 576) as on:  # as wide as SmolLM2: where it pays
        assert on and utils._use_triton(torch.device("cpu"))
        trained_only = _fused_loss_and_grads(model, ids, labels)
    assert utils._use_triton is original and notes
    assert trained_only[0] == pytest.approx(every_position[0], rel=1e-6)
    assert len(trained_only[1]) == len(every_position[1])
    for mine, theirs in zip(trained_only[1], every_position[1], strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)


def test_bf16_autocast_trains_but_evaluation_and_the_reference_logits_stay_float32(tmp_path) -> None:
    """With bf16 autocast (weights float32), the eval loss and the reference logits describe the saved weights in
    float32: the merged model passes the export check's float32 tolerance (it failed at 1.4% under autocast)."""
    import datasets
    from peft import LoraConfig
    from safetensors.torch import load_file
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from tailor.engine.export_check import compare
    from tailor.engine.models.tiny import tiny_path
    from tailor.engine.train.autocast import drop_autocast, evaluate_in_weights_dtype
    from tailor.engine.train.loop import save_reference_logits

    tok = AutoTokenizer.from_pretrained(tiny_path())
    rows = datasets.Dataset.from_list([{"text": f"Reverse: {w} -> {w[::-1]}"} for w in ("abcd", "tree", "moon", "star")])
    config = SFTConfig(output_dir=str(tmp_path), report_to="none", max_steps=2, per_device_train_batch_size=2,
                       learning_rate=1e-2, bf16=True, use_cpu=True, save_strategy="no", disable_tqdm=True)
    trainer = SFTTrainer(model=str(tiny_path()), args=config, train_dataset=rows, eval_dataset=rows,
                         processing_class=tok, peft_config=LoraConfig(r=8, target_modules="all-linear"))
    trainer.train()
    under_autocast = trainer.evaluate()["eval_loss"]
    evaluate_in_weights_dtype(trainer)
    in_float32 = trainer.evaluate()["eval_loss"]
    assert in_float32 != under_autocast  # the steps trained in bf16; the evaluation was not
    drop_autocast(trainer)
    assert trainer.evaluate()["eval_loss"] == pytest.approx(in_float32, rel=1e-6)
    save_reference_logits(trainer.model, tok, tmp_path / "ref.safetensors")
    check = compare(load_file(str(tmp_path / "ref.safetensors")), trainer.model.merge_and_unload(), "float32")
    assert check.ok, check.describe()
