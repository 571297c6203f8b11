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
