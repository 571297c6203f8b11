"""``tailor/tiny``: a small Llama-style causal LM built locally, so Tailor trains offline from the first start.

The model is randomly initialised from a fixed seed (4 layers, hidden 128) with a real ``tokenizers``
tokenizer trained on the demo corpus. Every character is its own token, which suits the demo task
(reversing a word). The tokenizer has ChatML special tokens and a chat template with
``{% generation %}`` markers, so TRL's ``assistant_only_loss`` works.

It is saved with ``save_pretrained`` under ``cache_dir()/models/tailor-tiny/<version hash>/`` on first
use (built in a temp folder, then renamed: never half-written) and loads with plain
``AutoModelForCausalLM`` / ``AutoTokenizer`` from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from tailor.engine.config import cache_dir

TINY_ID = "tailor/tiny"
BUILD_VERSION = 1  # bump when the recipe below changes in a way the hash would not see
SEED = 0

ARCH: dict[str, Any] = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 512,
    "rms_norm_eps": 1e-6,
    "initializer_range": 0.02,
    "tie_word_embeddings": False,
}

EOS, PAD, BOS, IM_START, UNK = "<|im_end|>", "<|pad|>", "<|endoftext|>", "<|im_start|>", "<unk>"
SPECIAL_TOKENS = [BOS, PAD, IM_START, EOS, UNK]

# ChatML; the assistant's content and its end-of-turn token sit inside {% generation %} so that TRL's
# assistant_only_loss trains exactly the answer and the stop token.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def version_hash() -> str:
    """Changes whenever the built artefact would: architecture, tokenizer, corpus, library versions."""
    from importlib.metadata import version  # library versions without importing the libraries

    from tailor.engine.data.demo import corpus

    spec = {
        "build": BUILD_VERSION,
        "seed": SEED,
        "arch": ARCH,
        "special": SPECIAL_TOKENS,
        "template": CHAT_TEMPLATE,
        "corpus": hashlib.sha256("\n".join(corpus()).encode()).hexdigest(),
        "transformers": version("transformers").split(".")[:2],
        "tokenizers": version("tokenizers").split(".")[:2],
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def tiny_root() -> Path:
    return cache_dir() / "models" / "tailor-tiny"


def tiny_path() -> Path:
    """The folder of the built tiny model; builds it on first use."""
    final = tiny_root() / version_hash()
    if (final / "config.json").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".build-{final.name}-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        build_tiny(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "config.json").exists():  # a real failure, not a concurrent builder winning
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return final


def tiny_model_path() -> Path:
    """The tiny model's folder if it is built already (FileNotFoundError otherwise); light, never builds."""
    path = tiny_root() / version_hash()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: tailor/tiny is not built yet (it is built on first use)")
    return path


def build_tokenizer():  # -> transformers.PreTrainedTokenizerFast
    """A character-level BPE tokenizer trained on the demo corpus, with ChatML special tokens."""
    import string

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from tailor.engine.data.demo import corpus

    tok = Tokenizer(models.BPE(unk_token=UNK))
    # Every character is its own pre-token, so no merge can ever join two letters.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    alphabet = sorted(set(string.printable) | set("".join(corpus())))
    trainer = trainers.BpeTrainer(
        vocab_size=len(SPECIAL_TOKENS) + len(alphabet),
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=[IM_START],
        model_max_length=ARCH["max_position_embeddings"],
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny(dest: Path) -> None:
    """Build the model and tokenizer deterministically and save both into ``dest``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **ARCH,
    )
    config.dtype = torch.float32
    # A private generator state: seeding must not disturb the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    (dest / "README.md").write_text(
        "# tailor/tiny\n\nA randomly initialised 4-layer Llama-style model with a character-level tokenizer,\n"
        "built by Tailor for offline demos and tests. It knows nothing until you fine-tune it.\n"
    )
