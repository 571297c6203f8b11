"""The built-in ``tailor/tiny`` model: offline, deterministic, a real character-level tokenizer with ChatML."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tailor.engine.errors import ModelError


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tiny_builds_once_into_the_cache_and_loads_with_plain_auto_classes() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tailor.engine.config import cache_dir
    from tailor.engine.models.loading import resolve_model_path
    from tailor.engine.models.tiny import TINY_ID, tiny_model_path, tiny_path, version_hash

    path = tiny_path()
    assert tiny_model_path() == path  # the light lookup finds it once built
    assert path == cache_dir() / "models" / "tailor-tiny" / version_hash()
    assert resolve_model_path(TINY_ID) == str(path)
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert tiny_path() == path and (path / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".build-")]  # no temp folder left

    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    cfg = model.config
    assert cfg.model_type == "llama"
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size) == (4, 128, 4, 256)
    assert cfg.vocab_size == len(tok)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|pad|>" and tok.pad_token != tok.eos_token
    assert cfg.eos_token_id == tok.eos_token_id and cfg.pad_token_id == tok.pad_token_id
    assert model.generation_config.eos_token_id == tok.eos_token_id


def test_light_lookup_never_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.engine.models.tiny import tiny_model_path

    monkeypatch.setenv("TAILOR_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError, match="not built yet"):
        tiny_model_path()
    assert not (tmp_path / "empty-cache").exists()


def test_tiny_build_is_deterministic(tmp_path: Path) -> None:
    from tailor.engine.models.tiny import build_tiny

    build_tiny(tmp_path / "a")
    build_tiny(tmp_path / "b")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert _digest(tmp_path / "a" / name) == _digest(tmp_path / "b" / name), name


def test_letters_are_single_tokens_and_decode_round_trips() -> None:
    from transformers import AutoTokenizer

    from tailor.engine.models.tiny import tiny_path

    tok = AutoTokenizer.from_pretrained(tiny_path())
    assert tok.tokenize("Reverse: abcd") == list("Reverse: abcd")
    for text in ("dcba", "Hello, World!\n  x", "<|im_start|>user\nhi<|im_end|>"):
        assert tok.decode(tok(text)["input_ids"]) == text
    assert tok("<|im_start|>")["input_ids"] == [tok.convert_tokens_to_ids("<|im_start|>")]


def test_chat_template_marks_exactly_the_answer_and_its_stop_token() -> None:
    from transformers import AutoTokenizer
    from trl.chat_template_utils import has_generation_markers

    from tailor.engine.models.tiny import tiny_path

    tok = AutoTokenizer.from_pretrained(tiny_path())
    assert has_generation_markers(tok.chat_template)
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse: abcd"}, {"role": "assistant", "content": "dcba"}]
    text = tok.apply_chat_template(chat, tokenize=False)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nReverse: abcd<|im_end|>\n"
        "<|im_start|>assistant\ndcba<|im_end|>\n"
    )
    prompt = tok.apply_chat_template(chat[:2], tokenize=False, add_generation_prompt=True)
    assert text.startswith(prompt) and prompt.endswith("<|im_start|>assistant\n")
    out = tok.apply_chat_template(chat, return_assistant_tokens_mask=True, return_dict=True)
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tok.convert_ids_to_tokens(masked) == ["d", "c", "b", "a", "<|im_end|>"]


def test_offline_hub_id_fails_with_a_one_line_model_error() -> None:
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec

    name = "tailor-tests/not-in-any-cache-0.5B"
    with pytest.raises(ModelError) as err:
        load_tokenizer(ModelSpec(name_or_path=name))
    assert str(err.value) == (
        f"model '{name}' is not in the local Hugging Face cache and the hub is unreachable; download it on a "
        "machine with network or point model.name_or_path at a local folder"
    )


def test_missing_local_folder_is_a_model_error(tmp_path: Path) -> None:
    from tailor.engine.models.loading import resolve_model_path

    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_path(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        resolve_model_path(str(tmp_path / "empty"))
