"""The exact number of parameters a recipe trains, computed from the model's config.json (no weights).

The launch form shows this count beside the memory estimate, and it must equal what the worker reports
once PEFT has wrapped the model (``tailor.engine.train.methods.count_parameters``). It is therefore computed the
way PEFT builds the model, not from a rule of thumb:

- every ``nn.Linear`` of a decoder layer is listed with its real shape (grouped-query k/v, ``head_dim``,
  the q/k/v biases of Qwen2, ``attention_bias`` / ``mlp_bias`` of Llama-style configs);
- LoRA adds ``r * (in + out)`` per targeted linear (``all-linear`` leaves the output head out, a list
  matches module-name suffixes, a string is a full-match regex, as in PEFT), DoRA adds a magnitude vector
  of ``out`` per targeted linear, ``bias: all | lora_only`` frees the matching biases;
- ``modules_to_save`` trains a full copy of each named module (PEFT's ``ModulesToSaveWrapper``);
- ``full`` counts each parameter once (tied embeddings are one tensor); ``partial`` the top decoder
  layers, the final norm and the head (and the input embeddings with ``train_embeddings``);
- prompt tuning trains ``num_virtual_tokens x hidden`` embeddings.

Llama-style decoders (Llama, Mistral, Qwen2, the built-in ``tailor/tiny``) are covered; for other layouts
``trainable_params`` returns None and callers fall back to their rough figure. Light: stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: Model types whose decoder layer is q/k/v/o attention plus a gated (gate/up/down) MLP.
LLAMA_LIKE = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "", None}


@dataclass(frozen=True)
class Linear:
    name: str  # full module name, e.g. "model.layers.0.self_attn.q_proj"
    fan_in: int
    fan_out: int
    bias: bool

    @property
    def params(self) -> int:
        return self.fan_in * self.fan_out + (self.fan_out if self.bias else 0)


@dataclass(frozen=True)
class Arch:
    """The shape of a Llama-style causal LM, read from its config.json."""

    model_type: str | None
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied: bool
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Arch | None:
        cfg = cfg.get("text_config", cfg)
        model_type = cfg.get("model_type")
        if model_type not in LLAMA_LIKE:
            return None
        try:
            hidden = int(cfg["hidden_size"])
            heads = int(cfg["num_attention_heads"])
            layers = int(cfg["num_hidden_layers"])
            inter = int(cfg["intermediate_size"])
            vocab = int(cfg["vocab_size"])
        except (KeyError, TypeError, ValueError):
            return None
        attention_bias = bool(cfg.get("attention_bias", False))
        qwen2 = model_type == "qwen2"  # Qwen2 always has q/k/v biases (no config key for it)
        return cls(
            model_type,
            hidden,
            layers,
            heads,
            int(cfg.get("num_key_value_heads") or heads),
            int(cfg.get("head_dim") or hidden // heads),
            inter,
            vocab,
            bool(cfg.get("tie_word_embeddings", model_type in ("gemma", "gemma2"))),
            qkv_bias=qwen2 or attention_bias,
            o_bias=attention_bias and not qwen2,
            mlp_bias=bool(cfg.get("mlp_bias", False)),
        )

    def layer_linears(self, i: int) -> list[Linear]:
        h, q, kv = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        a, m = f"model.layers.{i}.self_attn.", f"model.layers.{i}.mlp."
        return [
            Linear(a + "q_proj", h, q, self.qkv_bias),
            Linear(a + "k_proj", h, kv, self.qkv_bias),
            Linear(a + "v_proj", h, kv, self.qkv_bias),
            Linear(a + "o_proj", q, h, self.o_bias),
            Linear(m + "gate_proj", h, self.intermediate, self.mlp_bias),
            Linear(m + "up_proj", h, self.intermediate, self.mlp_bias),
            Linear(m + "down_proj", self.intermediate, h, self.mlp_bias),
        ]

    def layer_params(self, i: int) -> int:
        return sum(lin.params for lin in self.layer_linears(i)) + 2 * self.hidden  # + two RMSNorms

    @property
    def embedding(self) -> int:
        return self.vocab * self.hidden

    @property
    def total(self) -> int:
        """Every parameter once (a tied output head shares the input embedding's tensor)."""
        layers = sum(self.layer_params(i) for i in range(self.layers))
        return self.embedding + layers + self.hidden + (0 if self.tied else self.embedding)

    def modules(self) -> dict[str, int]:
        """Whole modules ``modules_to_save`` may name, with their parameter counts."""
        out = {"model.embed_tokens": self.embedding, "lm_head": self.embedding, "model.norm": self.hidden}
        for i in range(self.layers):
            out.update({lin.name: lin.params for lin in self.layer_linears(i)})
        return out


def _targeted(name: str, target: list[str] | str) -> bool:
    """PEFT's rule: a string is a full-match regex; a list matches the name or a ``.suffix``."""
    if isinstance(target, str):
        return re.fullmatch(target, name) is not None
    return any(name == t or name.endswith("." + t) for t in target)


def trainable_params(cfg: dict[str, Any], recipe: Any) -> int | None:
    """Parameters ``recipe`` (a TrainableRecipe, or anything with its ``method``/``lora``/``partial``/
    ``prompt`` fields) trains on the model ``cfg`` describes; None when the layout is not known."""
    arch = Arch.from_config(cfg)
    if arch is None:
        return None
    method = recipe.method
    if method == "full":
        return arch.total
    if method == "partial":
        spec = recipe.partial
        k = min(spec.trainable_layers, arch.layers)
        n = sum(arch.layer_params(i) for i in range(arch.layers - k, arch.layers)) + arch.hidden + arch.embedding
        if spec.train_embeddings and not arch.tied:
            n += arch.embedding  # tied: the head is the embedding, counted once already
        return n
    if method == "prompt_tuning":
        return int(recipe.prompt.num_virtual_tokens) * arch.hidden
    if method not in ("lora", "qlora"):
        return None  # prefix tuning: PEFT's layout depends on the model's cache format
    return _lora(arch, recipe.lora)


def _lora(arch: Arch, lora: Any) -> int:
    target = lora.target_modules
    linears = [lin for i in range(arch.layers) for lin in arch.layer_linears(i)]
    if target == "all-linear":
        chosen = linears  # PEFT leaves the output head out of all-linear
    else:
        chosen = [lin for lin in linears if _targeted(lin.name, target)]
        if not isinstance(target, str) and "lm_head" in target:
            chosen.append(Linear("lm_head", arch.hidden, arch.vocab, False))
    n = sum(lora.r * (lin.fan_in + lin.fan_out) + (lin.fan_out if lora.use_dora else 0) for lin in chosen)
    if lora.bias == "all":
        n += sum(lin.fan_out for lin in linears if lin.bias)
    elif lora.bias == "lora_only":
        n += sum(lin.fan_out for lin in chosen if lin.bias)
    modules = arch.modules()
    for name in lora.modules_to_save or []:
        n += sum(count for full, count in modules.items() if full == name or full.endswith("." + name))
    return n


def tiny_vocab_size() -> int:
    """The built-in tiny model's vocabulary before it is built: its special tokens plus one token per
    character of the demo corpus (engine.models.tiny.build_tokenizer)."""
    import string

    from tailor.engine.data.demo import corpus
    from tailor.engine.models.tiny import SPECIAL_TOKENS

    return len(SPECIAL_TOKENS) + len(set(string.printable) | set("".join(corpus())))
