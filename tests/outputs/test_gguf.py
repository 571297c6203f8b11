"""GGUF export through llama.cpp's converter, checked by loading the file back with transformers and
comparing logits with the merged model, on the real pretrained SmolLM2-135M-Instruct (Llama, BPE)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from train_helpers import make_run, succeeded

from tailor.engine.exporters.gguf import ExportError

# Measured here (CPU, float32 merged model vs the GGUF dequantised by transformers), max |logit diff| over
# the prompt's positions: f16 0.032, q8_0 1.34 (logits span ~40). The test converts f16 only (each
# conversion of the 135M model takes a while on two cores); the bound leaves headroom, not slack.
TOLERANCE = 0.1
PROMPT = "<|im_start|>user\nReverse: abcd<|im_end|>\n<|im_start|>assistant\n"


def smol_recipe(model: Path) -> dict:
    return {
        "kind": "sft", "name": "smol", "seed": 1,
        "model": {"name_or_path": str(model), "dtype": "float32"},
        "method": "lora",
        "lora": {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        "data": {"train": [{"path": "../data/reverse/train.jsonl", "max_rows": 8}]},
        "train": {"max_steps": 2, "per_device_train_batch_size": 4, "learning_rate": 5e-3, "logging_steps": 1,
                  "save_steps": 100, "max_length": 48},
        "evaluate": None,
    }


@pytest.fixture(scope="module")
def smol_run(smollm2_hf, tmp_path_factory):
    from tailor.engine.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("smol") / "ws").ensure()
    data = smol_recipe(smollm2_hf)
    data.pop("evaluate")
    run = make_run(ws, data)
    succeeded(run)
    return run


def _logits(model, tokenizer):
    import torch

    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        return model(ids).logits[0].float()


@pytest.mark.slow
def test_gguf_round_trip_matches_the_merged_model(smol_run, smollm2_hf, tmp_path, monkeypatch) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tailor.engine.exporters.targets import export

    monkeypatch.setenv("TAILOR_LLAMA_CPP", str(_sdist()))
    from peft import PeftModel

    # the merged model, in memory (the export merges the same way before converting)
    base = AutoModelForCausalLM.from_pretrained(str(smollm2_hf), dtype="float32")
    merged = PeftModel.from_pretrained(base, str(smol_run.adapter_dir)).merge_and_unload().eval()
    tok = AutoTokenizer.from_pretrained(str(smol_run.adapter_dir))
    reference = _logits(merged, tok)
    report = export(smol_run, tmp_path / "gguf", gguf=True, quant="f16", modelfile=True)
    (gguf,) = report.path.glob("*.gguf")
    assert gguf.name == f"{smol_run.run_id}.f16.gguf"
    assert report.verified is not False  # the merge before converting reproduced the run's final logits
    model = AutoModelForCausalLM.from_pretrained(str(report.path), gguf_file=gguf.name, dtype="float32")
    gguf_tok = AutoTokenizer.from_pretrained(str(report.path), gguf_file=gguf.name)
    assert gguf_tok(PROMPT).input_ids == tok(PROMPT).input_ids  # the vocabulary survived the trip
    logits = _logits(model, tok)
    diff = (logits - reference).abs().max().item()
    print(f"GGUF f16 max |logit diff| vs the merged model: {diff:.4f}")
    assert diff < TOLERANCE
    assert bool((logits.argmax(-1) == reference.argmax(-1)).all())
    card = (report.path / "README.md").read_text()
    assert "gguf" in card and str(smol_run.run_id) in card
    modelfile = (report.path / "Modelfile").read_text()
    assert f"FROM ./{smol_run.run_id}.f16.gguf" in modelfile
    assert any(step.startswith("ollama create ") for step in report.next_steps)


def _sdist() -> Path:
    from llama_sdist import llama_cpp_sdist

    return llama_cpp_sdist()


def test_tiny_model_is_refused_for_gguf(workspace, tmp_path, monkeypatch) -> None:
    from train_helpers import SHORT

    from tailor.engine.exporters.targets import export

    run = make_run(workspace, "demo-sft.yaml", SHORT)
    with pytest.raises(ExportError, match="character tokenizer"):
        export(run, tmp_path / "g", gguf=True)
    assert not (tmp_path / "g").exists()


def test_missing_converter_says_how_to_get_it(monkeypatch, tmp_path) -> None:
    from tailor.engine.exporters import gguf

    monkeypatch.delenv("TAILOR_LLAMA_CPP", raising=False)
    monkeypatch.setenv("TAILOR_CACHE", str(tmp_path))
    with pytest.raises(ExportError) as err:
        gguf.locate_llama_cpp()
    text = str(err.value)
    assert "pip download --no-deps --no-binary=:all: llama-cpp-python" in text and "TAILOR_LLAMA_CPP" in text
    monkeypatch.setenv("TAILOR_LLAMA_CPP", str(tmp_path))
    with pytest.raises(ExportError, match=re.escape(f"TAILOR_LLAMA_CPP={tmp_path}: no convert_hf_to_gguf.py")):
        gguf.locate_llama_cpp()


def test_other_quants_need_llama_quantize(monkeypatch) -> None:
    from tailor.engine.exporters import gguf

    monkeypatch.setenv("TAILOR_LLAMA_CPP", str(_sdist()))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ExportError, match="q4_k_m needs llama.cpp's compiled llama-quantize"):
        gguf.check_quant("q4_k_m")
    gguf.check_quant("q8_0")
