"""Batched, left-padded generation and batched log-likelihood scoring (worker side: imports torch).

Decoder-only models continue from the last position of each row, so prompts are padded on the *left*:
with right padding a short prompt would be followed by pad tokens and the model would generate after
them. Prompts are sorted by length before batching (less padding) and results put back in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class GenerationSettings:
    max_new_tokens: int = 64
    batch_size: int = 16
    greedy: bool = True
    temperature: float = 0.7
    top_p: float = 1.0
    stop: tuple[str, ...] = ()


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _max_prompt_tokens(model: Any, tokenizer: Any, max_new_tokens: int) -> int | None:
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if not isinstance(limit, int) or limit <= 0:
        limit = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else None
    return max(limit - max_new_tokens, 1) if limit else None


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first stop string (outer whitespace removed)."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if 0 <= i < cut:
                cut = i
    return text[:cut].strip()


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    settings: GenerationSettings,
    *,
    add_special_tokens: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[str]:
    """Generate a completion for each prompt text, ``settings.batch_size`` prompts per ``generate`` call.

    ``batch_size=1`` is one-at-a-time generation (no padding at all), used by the benchmark.
    """
    import torch

    lengths = [len(tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"]) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])  # longest first: a too-big batch fails early
    out: list[str] = [""] * len(prompts)
    old_side, old_trunc = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    max_prompt = _max_prompt_tokens(model, tokenizer, settings.max_new_tokens)
    gen_kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "do_sample": not settings.greedy,
        "pad_token_id": pad_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if not settings.greedy:
        gen_kwargs.update(temperature=settings.temperature, top_p=settings.top_p)
    else:  # silence "temperature is set but do_sample is False" from the model's own defaults
        gen_kwargs.update(temperature=None, top_p=None, top_k=None)
    device = _device(model)
    done = 0
    try:
        for start in range(0, len(order), settings.batch_size):
            if should_stop and should_stop():
                break
            idx = order[start : start + settings.batch_size]
            batch = tokenizer(
                [prompts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                truncation=max_prompt is not None,
                max_length=max_prompt,
                add_special_tokens=add_special_tokens,
            ).to(device)
            with torch.inference_mode():
                seqs = model.generate(**batch, **gen_kwargs)
            new = seqs[:, batch["input_ids"].shape[1] :]  # left padding: every prompt ends at the same column
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            for i, text in zip(idx, texts, strict=True):
                out[i] = cut_at_stop(text, settings.stop)
            done += len(idx)
            if progress:
                progress(done, len(prompts))
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = old_side, old_trunc
    return out


def completion_logprobs(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    *,
    batch_size: int = 16,
    add_special_tokens: bool = False,
    progress: Progress | None = None,
) -> list[tuple[float, int]]:
    """For each (prompt text, completion text): the summed log-probability of the completion's tokens
    given the prompt, and the number of completion tokens. The prompt tokens are not scored.

    Prompt and completion are tokenised separately and concatenated (as TRL does for prompt-completion
    data), so the completion tokens are exactly the ones the model was trained on.
    """
    import torch

    rows: list[tuple[list[int], int]] = []
    for prompt, completion in pairs:
        p = tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"]
        c = tokenizer(completion, add_special_tokens=False)["input_ids"]
        rows.append((list(p) + list(c), len(p)))
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    device = _device(model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(rows)
    done = 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        seqs = []
        for i in idx:
            ids, n_prompt = rows[i]
            if isinstance(limit, int) and len(ids) > limit:  # keep the completion, drop the prompt's start
                cut = len(ids) - limit
                ids, n_prompt = ids[cut:], max(n_prompt - cut, 0)
            seqs.append((ids, n_prompt))
        width = max(len(s) for s, _ in seqs)
        input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        scored = torch.zeros((len(seqs), width), dtype=torch.bool)
        for r, (ids, n_prompt) in enumerate(seqs):  # right padding: no generation here
            input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention[r, : len(ids)] = 1
            scored[r, n_prompt : len(ids)] = True
        input_ids, attention, scored = input_ids.to(device), attention.to(device), scored.to(device)
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target = input_ids[:, 1:]
        token_logp = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        mask = scored[:, 1:]
        sums = (token_logp * mask).sum(-1).tolist()
        counts = mask.sum(-1).tolist()
        for i, s, n in zip(idx, sums, counts, strict=True):
            out[i] = (float(s), int(n))
        done += len(idx)
        if progress:
            progress(done, len(rows))
    return out
