"""The trainable-parameter estimate (engine.trainable_params) equals PEFT's own count.

Models are built on the meta device from config dicts (no weights, no hub): the built-in tiny model, and
the published configs of Qwen2.5-0.5B and Llama-3.1-8B (copied below: the hub is unreachable in tests).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tailor.engine.recipes.common import LoraSpec, PartialSpec, PromptSpec
from tailor.engine.trainable_params import trainable_params

torch = pytest.importorskip("torch")

# Qwen/Qwen2.5-0.5B config.json (the fields that shape the model).
QWEN25_05B = {
    "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 896, "intermediate_size": 4864,
    "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "vocab_size": 151936,
    "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "hidden_act": "silu",
    "tie_word_embeddings": True, "torch_dtype": "bfloat16", "use_sliding_window": False,
}
# meta-llama/Llama-3.1-8B config.json.
LLAMA31_8B = {
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu",
    "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False, "head_dim": 128,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
}


def tiny_config() -> dict:
    from tailor.engine.models.tiny import ARCH

    return {"model_type": "llama", **ARCH, "vocab_size": 105}  # the tiny tokenizer's 105 tokens


def meta_model(cfg: dict):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def recipe(method: str = "lora", **lora) -> SimpleNamespace:
    return SimpleNamespace(
        method=method, lora=LoraSpec(**lora), partial=PartialSpec(), prompt=PromptSpec(num_virtual_tokens=8)
    )


def peft_count(cfg: dict, rec: SimpleNamespace) -> int:
    """What the worker reports: trainable parameters after PEFT wraps (or the method freezes) the model."""
    from tailor.engine.train.methods import build_peft_config, count_parameters, freeze_for_partial

    model = meta_model(cfg)
    if rec.method == "partial":
        freeze_for_partial(model, rec.partial)
        return count_parameters(model)[0]
    config = build_peft_config(rec, "unused")
    if config is None:
        return count_parameters(model)[0]
    from peft import get_peft_model

    return get_peft_model(model, config).get_nb_trainable_parameters()[0]


CASES = {
    "lora r8": recipe(r=8),
    "lora r16 + modules_to_save": recipe(r=16, modules_to_save=["lm_head", "embed_tokens"]),
    "dora": recipe(r=8, use_dora=True),
    "lora qv list": recipe(r=4, target_modules=["q_proj", "v_proj"]),
    "lora regex, bias all": recipe(r=4, target_modules=r".*\.(k|o)_proj", bias="all"),
    "lora bias lora_only": recipe(r=4, target_modules=["q_proj", "up_proj"], bias="lora_only"),
    "full": recipe("full"),
    "partial": recipe("partial"),
    "prompt tuning": recipe("prompt_tuning"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tiny_model(case):
    rec = CASES[case]
    assert trainable_params(tiny_config(), rec) == peft_count(tiny_config(), rec)


def test_tiny_demo_recipe_counts_what_the_worker_reported():
    """The numbers of the bug report: 166,144 trained at r=16 with modules_to_save, 96,512 at r=8."""
    both = ["lm_head", "embed_tokens"]
    assert trainable_params(tiny_config(), recipe(r=16, modules_to_save=both)) == 166_144
    assert trainable_params(tiny_config(), recipe(r=8, modules_to_save=both)) == 96_512


@pytest.mark.parametrize("name,cfg", [("qwen2.5-0.5b", QWEN25_05B), ("llama3.1-8b", LLAMA31_8B)])
@pytest.mark.parametrize(
    "case", ["lora r8", "dora", "lora qv list", "lora regex, bias all", "full", "partial",
             "lora r16 + modules_to_save"]
)
def test_real_architectures(name, cfg, case):
    rec = CASES[case]
    if case == "lora r16 + modules_to_save":
        rec = recipe(r=16, modules_to_save=["embed_tokens"])  # tied Qwen head: save the embedding alone
    assert trainable_params(cfg, rec) == peft_count(cfg, rec), (name, case)


def test_full_counts_match_published_sizes():
    """Sanity: the totals are the models' published parameter counts."""
    assert trainable_params(QWEN25_05B, recipe("full")) == 494_032_768
    assert trainable_params(LLAMA31_8B, recipe("full")) == 8_030_261_248


def test_unknown_layout_is_none():
    assert trainable_params({"model_type": "gpt2", "n_embd": 64}, recipe()) is None


def test_fit_estimate_uses_the_exact_count(workspace):
    """The launch form's estimate (engine.memory_estimate) shows the exact count for demo-sft."""
    from tailor.engine.memory_estimate import estimate_recipe
    from tailor.engine.recipes.load import load_recipe

    est = estimate_recipe(load_recipe(workspace.recipes_dir / "demo-sft.yaml", check_files=False))
    assert est.trainable == 166_144
