"""Will this recipe fit on that GPU? A back-of-the-envelope estimate of training memory.

    weights     params x bytes/param (2 for bf16/fp16, 4 for fp32, ~0.55 for 4-bit QLoRA, whose embeddings
                and output head stay 16-bit)
    gradients   trainable params x bytes/param
    optimizer   trainable params x 8 (AdamW: two fp32 moments), + 4 for an fp32 master copy in full
    activations batch x seq x hidden x layers x 34 bytes (16-bit, no attention matrix: SDPA/flash),
                ~2 bytes per layer and token with gradient checkpointing, plus the loss's fp32 tiles (TRL
                never holds the whole logits)
    overhead    CUDA context and allocator slack: 1 GiB + 10%

The model's shape comes from its config.json (a local folder, a GGUF file's converted folder, the Hugging
Face cache), else, for well-known hub ids, a table of their architectures (``tailor.engine.model_shapes``), else
the hub's config.json (``tailor.engine.model_config``: a few seconds at most, never with ``HF_HUB_OFFLINE``);
only failing those is it guessed from a size in the name, and the estimate then says "guessed" and why
("not in the cache, offline", "... hub unreachable"). It never loads weights. The training arguments are read as the worker will apply them:
``activation_checkpointing`` (or the older ``gradient_checkpointing``), on by default. The same estimate
sizes a run's checkpoints for the disk-space check before a launch (``check_launch_space``). Light: no
torch/transformers import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.runs.diskspace import MIN_FREE, check_free

if TYPE_CHECKING:
    from tailor.engine.recipes.common import Recipe

GIB = 1024**3
DTYPE_BYTES = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0, "auto": 2.0}


@dataclass
class ModelShape:
    params: float
    hidden: int
    layers: int
    vocab: int
    intermediate: int
    source: str = "config.json"
    heads: int = 0
    kv_heads: int = 0
    guessed: bool = False
    tied: bool = True  # the output head shares the input embeddings

    @classmethod
    def from_config(cls, cfg: dict[str, Any], source: str = "config.json") -> ModelShape:
        cfg = cfg.get("text_config", cfg)
        h = int(cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("d_model") or 0)
        n = int(cfg.get("num_hidden_layers") or cfg.get("n_layer") or cfg.get("num_layers") or 0)
        v = int(cfg.get("vocab_size") or 32000)
        inter = int(cfg.get("intermediate_size") or cfg.get("n_inner") or 4 * h)
        heads = int(cfg.get("num_attention_heads") or 1)
        kv = int(cfg.get("num_key_value_heads") or heads)
        attn = h * h * 2 + 2 * h * (h // max(heads, 1)) * kv  # q, o + k, v (grouped-query aware)
        mlp = (
            3 * h * inter
            if cfg.get("hidden_act", "silu") in ("silu", "swiglu", "gelu_pytorch_tanh")
            else 2 * h * inter
        )
        tied = cfg.get("tie_word_embeddings", True)
        params = n * (attn + mlp + 2 * h) + v * h * (1 if tied else 2)
        return cls(float(params), h, n, v, inter, source, heads, kv, tied=bool(tied))

    @property
    def linear_in_out_per_layer(self) -> int:
        """Sum of (in + out) over a decoder layer's linear layers (what LoRA adapts with all-linear)."""
        h = self.hidden
        kv_out = h // self.heads * self.kv_heads if self.heads and self.kv_heads else h  # grouped-query k, v
        return 2 * (2 * h) + 2 * (h + kv_out) + 3 * (h + self.intermediate)


@dataclass
class FitEstimate:
    model: str
    method: str
    params: float | None
    trainable: float | None = None
    parts: dict[str, float] = field(default_factory=dict)  # bytes
    note: str | None = None
    guessed: bool = False  # the model's shape was guessed from its name

    @property
    def total(self) -> float | None:
        return sum(self.parts.values()) if self.parts else None

    def describe(self) -> str:
        if self.total is None:
            return f"GPU memory: unknown ({self.note or 'model shape not found'})"
        parts = ", ".join(f"{k} {v / GIB:.1f}" for k, v in self.parts.items())
        shape = f"; model shape guessed from {self.note}" if self.guessed else ""
        return f"GPU memory ~{self.total / GIB:.1f} GiB per GPU ({self.method}: {parts} GiB){shape}"

    def shape_line(self) -> str:
        """Where the model's shape came from: a config.json (its path, the HF cache, the hub), the table
        of known architectures, or guessed and why."""
        if self.params is None:
            return f"model shape: unknown ({self.note})"
        return f"model shape: {'guessed from' if self.guessed else 'from'} {self.note}"


@dataclass
class FitVerdict:
    fits: bool
    message: str | None


def model_shape(name_or_path: str, revision: str | None = None, gguf_file: str | None = None) -> ModelShape | None:
    """The model's shape (see ``find_shape``), None when there is nothing to go on."""
    return find_shape(name_or_path, revision, gguf_file)[0]


def find_shape(
    name_or_path: str, revision: str | None = None, gguf_file: str | None = None
) -> tuple[ModelShape | None, dict[str, Any] | None, str]:
    """(shape, the real config.json or None, why not found). The shape comes from a config.json (local,
    converted GGUF, HF cache: ``tailor.engine.model_config``), the table of known architectures, the hub's
    config.json (time-bounded), or, guessed, a size in its name (``7B``), saying why it had to guess."""
    from tailor.engine.model_config import hub_config, local_config
    from tailor.engine.model_shapes import known_config

    found = local_config(name_or_path, revision, gguf_file)
    if found.config is not None:
        return ModelShape.from_config(found.config, found.source), found.config, ""
    known = known_config(name_or_path)
    if known is not None:
        return ModelShape.from_config(*known), None, ""
    why = found.source
    if found.source == "not in the Hugging Face cache":  # a hub id: ask the hub for its config.json
        hub = hub_config(name_or_path, revision)
        if hub.config is not None:
            return ModelShape.from_config(hub.config, hub.source), hub.config, ""
        why = f"not cached, {hub.source}"
    m = re.search(r"(\d+(?:\.\d+)?)\s*([bBmM])\b", name_or_path.replace("-", " ").replace("_", " "))
    if m:
        params = float(m.group(1)) * (1e9 if m.group(2).lower() == "b" else 1e6)
        h = int(max(512, (params / 12 / 32) ** 0.5 // 64 * 64))  # a typical decoder aspect ratio
        source = f"the size in its name {m.group(0)!r}: {why}"
        return ModelShape(params, h, 32, 32000, 4 * h, source=source, guessed=True), None, why
    return None, None, why


def estimate(
    shape: ModelShape | None,
    *,
    model: str,
    method: str,
    dtype: str = "auto",
    batch: int = 8,
    seq: int = 1024,
    gradient_checkpointing: bool = False,
    lora_r: int = 16,
    trainable_layers: int = 2,
    exact_trainable: int | None = None,
) -> FitEstimate:
    if shape is None:
        return FitEstimate(model, method, None, note=f"no config.json found for {model}")
    p = shape.params
    b = DTYPE_BYTES.get(dtype, 2.0)
    if method == "full":
        trainable, weights = p, p * b
        optimizer = p * (8 + (4 if b < 4 else 0))
    elif method in ("lora", "qlora"):
        trainable = lora_r * shape.linear_in_out_per_layer * shape.layers
        embeddings = shape.vocab * shape.hidden * (1 if shape.tied else 2)
        # bitsandbytes quantizes the decoder's linear layers; embeddings and the output head stay 16-bit
        weights = (p - embeddings) * 0.55 + embeddings * 2 if method == "qlora" else p * b
        optimizer = trainable * 12  # fp32 adapter copy + two moments
    elif method == "partial":
        per_layer = (p - shape.vocab * shape.hidden) / max(shape.layers, 1)
        trainable = per_layer * min(trainable_layers, shape.layers)
        weights, optimizer = p * b, trainable * 8
    else:  # prompt / prefix tuning: a few virtual tokens
        trainable = 64 * shape.hidden * (shape.layers if method == "prefix_tuning" else 1)
        weights, optimizer = p * b, trainable * 8
    if exact_trainable is not None and trainable > 0:  # engine.trainable_params: what PEFT will report
        optimizer *= exact_trainable / trainable  # optimizer state is linear in the trainable count
        trainable = exact_trainable
    grads = trainable * (b if method == "full" else 4)
    tokens = batch * seq
    per_token_layer = 2 if gradient_checkpointing else 34
    activations = tokens * shape.hidden * shape.layers * per_token_layer
    if gradient_checkpointing:
        activations += tokens * shape.hidden * 34  # one layer recomputed at a time
    # TRL 1.x computes the loss's log-probabilities in tiles of 4096 tokens x 32768 vocabulary entries in the
    # model's dtype (its fused LM head, every trainer: trl.kernels.chunked_logprob, one tile forward and one
    # backward) and never holds the full logits; only the fp32 hidden-state gradient is per token. The
    # vocabulary counts through that tile's width and the embeddings / output head in the weights.
    logits = min(tokens, 4096) * min(shape.vocab, 32768) * b * 2 + tokens * shape.hidden * 4
    parts = {
        "weights": weights,
        "gradients": grads,
        "optimizer": optimizer,
        "activations": activations + logits,
    }
    parts["overhead"] = GIB + 0.1 * sum(parts.values())
    return FitEstimate(model, method, p, trainable, parts, note=shape.source, guessed=shape.guessed)


def checkpointing(train: dict[str, Any]) -> bool:
    """Activation checkpointing as the worker applies it (engine.train.config): the recipe's
    ``activation_checkpointing`` or ``gradient_checkpointing``, else Tailor's default (on)."""
    for key in ("activation_checkpointing", "gradient_checkpointing"):
        if key in train:
            return bool(train[key])
    return True


def estimate_recipe(recipe: Recipe) -> FitEstimate:
    """The estimate for a loaded sft/dpo recipe (other kinds: based on their base recipe if inline)."""
    from tailor.engine.recipes.trainable import TrainableRecipe

    if not isinstance(recipe, TrainableRecipe):  # search, eval
        base = getattr(recipe, "base", None)
        if isinstance(base, dict) and "model" in base:
            from tailor.engine.recipes.load import parse_recipe

            try:
                return estimate_recipe(parse_recipe(base, check_files=False))
            except Exception:  # fit is advisory only
                pass
        return FitEstimate("?", getattr(recipe, "kind", "?"), None, note="not a training recipe")
    train = dict(getattr(recipe, "train", {}) or {})
    model = recipe.model
    shape, config, why = find_shape(model.name_or_path, model.revision, getattr(model, "gguf_file", None))
    if shape is None:
        return FitEstimate(model.name_or_path, recipe.method, None, note=f"no config.json found for "
                           f"{model.name_or_path}: {why}; no size in its name")
    return estimate(
        shape,
        model=model.name_or_path,
        method=recipe.method,
        dtype=model.dtype,
        batch=int(train.get("per_device_train_batch_size", 8)),
        seq=int(train.get("max_length", 1024) or 1024),
        gradient_checkpointing=checkpointing(train),
        lora_r=recipe.lora.r,
        trainable_layers=recipe.partial.trainable_layers,
        exact_trainable=_exact_trainable(config, recipe),
    )


def _exact_trainable(config: dict[str, Any] | None, recipe: Recipe) -> int | None:
    """The exact trainable count (engine.trainable_params) where the model's real config.json was found."""
    from tailor.engine.trainable_params import trainable_params

    return trainable_params(config, recipe) if config is not None else None


def check_fit(estimate: FitEstimate, gpus: list[Any], *, gpus_wanted: int = 1) -> FitVerdict:
    """Compare with the free memory of the host's GPUs (``tailor.engine.remote.gpus.GPU``-like objects)."""
    need = estimate.total
    if gpus_wanted > 0 and not gpus:
        return FitVerdict(
            False, "the host has no GPU: training would run on its CPU (slow); set resources.gpus: 0 if CPU is "
            "intended (no warning then)"
        )
    if need is None or gpus_wanted == 0:
        return FitVerdict(True, None)
    free = sorted((g.memory_free_mib * 1024 * 1024 for g in gpus), reverse=True)
    if len(free) < gpus_wanted:
        return FitVerdict(False, f"the recipe asks for {gpus_wanted} GPUs but the host has {len(free)}")
    worst = free[gpus_wanted - 1]
    if need > worst:
        return FitVerdict(
            False,
            f"may not fit: needs ~{need / GIB:.1f} GiB per GPU, {worst / GIB:.1f} GiB free "
            f"({estimate.describe()}); lower per_device_train_batch_size or max_length, "
            f"enable gradient_checkpointing, or use qlora",
        )
    return FitVerdict(True, f"fits: ~{need / GIB:.1f} GiB of {worst / GIB:.1f} GiB free")


# -- disk: a run's checkpoints ----------------------------------------------------------------------
def checkpoint_bytes(recipe: Any) -> int:
    """Rough bytes a training run writes: checkpoints kept (``save_total_limit``, else every save) of the
    trainable weights with Adam's two moments, plus the final adapter. 0 for a kind that does not train."""
    try:
        est = estimate_recipe(recipe)
    except Exception:
        return 0
    trainable = est.trainable or (est.params if est.method in ("full", "partial") else None)
    if not trainable:
        return 0
    train = dict(getattr(recipe, "train", {}) or {})
    limit = train.get("save_total_limit")
    steps, every = train.get("max_steps") or 0, train.get("save_steps") or 500
    saves = int(limit) if isinstance(limit, int) and limit > 0 else max(1, int(steps) // int(every) if steps > 0 else 3)
    per_checkpoint = trainable * 4 * 3  # fp32 weights + two Adam moments
    return int(per_checkpoint * saves + trainable * 4)


def check_launch_space(runs_dir: Path, recipe: Any) -> None:
    """Refuse a launch whose checkpoints cannot fit in the free space of ``runs_dir``."""
    check_free(runs_dir, MIN_FREE + checkpoint_bytes(recipe), "its checkpoints, adapter and logs")
