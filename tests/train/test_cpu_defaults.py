"""Tailor's defaults on a machine without a GPU: bf16 autocast only where the CPU and the model make it pay."""

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


def test_scoring_trained_positions_only_gives_the_same_loss_and_gradients() -> None:
    """TRL's fused LM head on a CPU, all positions scored (TRL's own CPU path) and trained ones only (Tailor's):
    the same loss and the same gradients, on rows with masked prompt and pad positions."""
    from transformers import AutoModelForCausalLM
    from trl.trainer import utils

    from tailor.engine.models.tiny import tiny_path
    from tailor.engine.train.cpu import score_trained_positions_only

    model = AutoModelForCausalLM.from_pretrained(tiny_path(), dtype=torch.float32)
    utils.add_fused_lm_head(model)
    ids = torch.randint(5, 100, (2, 12), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :5] = -100  # the prompt
    labels[1, 9:] = -100  # padding

    def loss_and_grads() -> tuple[float, list[torch.Tensor]]:
        model.zero_grad()
        out = model(input_ids=ids, labels=labels, fused_lm_head=True)
        out.loss.backward()
        return float(out.loss), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    original = utils._use_triton
    try:
        every_position = loss_and_grads()
        assert score_trained_positions_only() and utils._use_triton(torch.device("cpu"))
        trained_only = loss_and_grads()
    finally:
        utils._use_triton = original
    assert trained_only[0] == pytest.approx(every_position[0], rel=1e-6)
    assert len(trained_only[1]) == len(every_position[1])
    for mine, theirs in zip(trained_only[1], every_position[1], strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
