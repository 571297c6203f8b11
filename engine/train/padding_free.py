"""Padding-free batching for SFT by default, once the model is shown to keep packed rows apart.

A padded batch of rows of uneven length spends most of its compute on pad tokens (alpaca rows vary from
30 to 900 tokens). TRL's collator can instead concatenate a batch's rows into one sequence with
``position_ids`` restarting at 0 per row ("padding-free"): the same rows per step, the same loss, only the
real tokens computed. It is only right when the model's attention turns those restarting positions into a
block-diagonal mask (flash attention, or transformers' mask builder for sdpa/eager): a model that ignores
them (OPT, Bloom and MPT do today, and any remote-code model may) would let every row attend to the rows
before it, silently training on something the user never meant. So Tailor checks on the loaded model
itself (one forward of three short rows, separate versus packed) and turns it on only when the logits
agree; the choice is logged either way.

TRL refuses ``padding_free`` without ``packing`` while ``max_length`` is set, because it cannot know the
rows are truncated; they are, by its own dataset preparation (``max_length`` set, no packing), so Tailor
switches TRL's own collator after the trainer is built instead of giving up truncation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from tailor.engine.recipes.sft import SFTRecipe
    from tailor.engine.worker.context import WorkerContext

# Relative logit error allowed between packed and separate rows: float32 kernels agree to ~1e-6 of the
# logits' scale; half precision takes other kernel paths (~1e-3). A row that sees its neighbours is off by
# 1e-2 or more (OPT: 0.2, Bloom: 0.04 on tiny random models).
TOLERANCE = {"float32": 1e-4, "half": 5e-3}
PROBE_LENGTHS = (7, 4, 5)  # three rows, so the second and third both follow another one
MIN_GAIN = 1.1  # below this estimated speed-up, padded batches are kept (nothing to win, one less moving part)
SAMPLE_ROWS = 2000  # rows whose lengths feed the estimate


RECIPE = "set by the recipe"


def wanted(recipe: SFTRecipe, batch_size: int) -> str | None:
    """None when padding-free should be tried, else why not (the recipe chose, or it cannot help)."""
    train = recipe.train
    if train.get("packing") or ("padding_free" in train and not forced(recipe)):
        return RECIPE
    if recipe.method in ("prompt_tuning", "prefix_tuning"):
        return "prompt and prefix tuning prepend their virtual tokens once per sequence"
    if batch_size < 2 and not forced(recipe):
        return "batch size 1 has no padding to remove"
    return None


def forced(recipe: SFTRecipe) -> bool:
    """``train.padding_free: true`` without packing: TRL refuses it while max_length is set, Tailor does it
    (after the same check, which then refuses the run instead of falling back)."""
    return bool(recipe.train.get("padding_free")) and not recipe.train.get("packing")


def estimated_gain(lengths: list[int], batch: int, hidden: int, attention: str, seed: int = 0) -> float:
    """Estimated compute of padded over padding-free batches for rows of these token lengths.

    Per layer a token costs ~12·hidden² in its linear layers plus ~span·hidden in attention, where span is the
    sequence it attends over: a padded batch computes batch × its longest row; a padding-free one computes
    the real tokens, but without flash attention's per-row kernels the attention spans the whole flattened
    batch (masked, still computed), which can cost more than the padding saved when rows are long and
    the model narrow.
    """
    import random

    rows = list(lengths)
    random.Random(seed).shuffle(rows)
    per_row = attention.startswith("flash") or "kernels" in attention
    padded = free = 0.0
    for start in range(0, len(rows) - batch + 1, batch):
        chunk = rows[start:start + batch]
        width, total = max(chunk), sum(chunk)
        padded += batch * width * (1 + width / (12 * hidden))
        free += sum(n * (1 + n / (12 * hidden)) for n in chunk) if per_row else total * (1 + total / (12 * hidden))
    return padded / free if free else 1.0


def packed_rows_stay_apart(model: torch.nn.Module, vocab_size: int) -> tuple[bool, float]:
    """(ok, relative error): the model's logits for three short rows packed into one sequence with restarting
    ``position_ids`` match the logits of each row run alone."""
    import torch

    device = next(p.device for p in model.parameters())
    generator = torch.Generator().manual_seed(0)
    high = max(2, min(vocab_size, 1000))
    rows = [torch.randint(1, high, (n,), generator=generator) for n in PROBE_LENGTHS]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            alone = [model(input_ids=r[None].to(device), use_cache=False).logits[0].float() for r in rows]
            flat = torch.cat(rows)[None].to(device)
            positions = torch.cat([torch.arange(len(r)) for r in rows])[None].to(device)
            packed = model(input_ids=flat, position_ids=positions, use_cache=False).logits[0].float()
    finally:
        model.train(was_training)
    parts = torch.split(packed, list(PROBE_LENGTHS))
    scale = max(float(a.abs().max()) for a in alone) or 1.0
    error = max(float((a - b.to(a.device)).abs().max()) for a, b in zip(alone, parts, strict=True)) / scale
    dtype = next(p.dtype for p in model.parameters())
    limit = TOLERANCE["float32" if dtype == torch.float32 else "half"]
    return error <= limit, error


def enable(trainer: Any, recipe: SFTRecipe, ctx: WorkerContext) -> bool:
    """Switch the built SFT trainer to padding-free batching when the recipe left it to Tailor and the model
    passes the check; logs the decision. True when switched on."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    why = wanted(recipe, int(trainer.args.per_device_train_batch_size))
    collator = trainer.data_collator
    if why is None and (not isinstance(collator, DataCollatorForLanguageModeling) or collator.padding_free):
        why = "the trainer's collator is not TRL's language-modelling one"
    gain = None
    if why is None and not forced(recipe):
        gain = _gain(trainer)
        if gain is not None and gain < MIN_GAIN:
            why = f"estimated {gain:.2f}x: the rows of a batch are about as long as each other"
    if why is None:
        vocab = int(getattr(trainer.processing_class, "vocab_size", 0) or 0) or 1000
        ok, error = packed_rows_stay_apart(trainer.model, vocab)
        if not ok and forced(recipe):
            from tailor.engine.errors import RecipeError

            raise RecipeError(
                f"{ctx.run.recipe_file}: train.padding_free: this model's attention does not keep packed rows apart "
                f"(relative logit error {error:.1e}), so padding-free batches would train each row on its neighbours; "
                "remove train.padding_free"
            )
        if not ok:
            ctx.log(
                f"padding-free batching: off — this model's attention does not keep packed rows apart "
                f"(relative logit error {error:.1e}); batches are padded (train.padding_free: false silences this)",
                "warning",
            )
            return False
        collator.padding_free = True
        trainer.padding_free = True
        speed = f"estimated {gain:.2f}x less compute; " if gain is not None else ""
        ctx.log(
            f"padding-free batching: on ({speed}each batch's rows run as one sequence without pad tokens; packed rows "
            f"checked to match separate ones, relative error {error:.0e}; train.padding_free: false turns it off)"
        )
        return True
    if why != RECIPE:
        ctx.log(f"padding-free batching: off ({why})")
    return False


def _gain(trainer: Any) -> float | None:
    """``estimated_gain`` for the trainer's tokenized train rows and model (None when it cannot be read)."""
    try:
        dataset = trainer.train_dataset
        rows = dataset.select(range(min(len(dataset), SAMPLE_ROWS)))
        lengths = [len(ids) for ids in rows["input_ids"]]
        config = trainer.model.config
        hidden = int(getattr(config.get_text_config(), "hidden_size", 0) or 0)
        attention = str(getattr(config, "_attn_implementation", None) or "sdpa")
    except Exception:  # an iterable dataset or an unusual config: no estimate, try anyway
        return None
    if not hidden or not lengths:
        return None
    return estimated_gain(lengths, int(trainer.args.per_device_train_batch_size), hidden, attention, trainer.args.seed)
