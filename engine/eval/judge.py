"""Pairwise judging with a causal LM: is a model's answer better than the base model's?

The judge reads the prompt and two answers and we compare the probabilities it gives to the next token
being ``A`` or ``B`` (no generation, no parsing). Each pair is judged in both orders and the two
verdicts averaged, which cancels the judge's position bias. Identical answers are a tie without asking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

DEFAULT_TEMPLATE = (
    "Compare two answers to the same request.\n\n"
    "Request:\n{prompt}\n\n"
    "Answer A:\n{a}\n\n"
    "Answer B:\n{b}\n\n"
    "Which answer is more helpful and correct? Reply with the letter A or B only."
)
TIE_BAND = 0.05  # |p(win) - 0.5| below this is a tie


class Judge:
    def __init__(self, model: Any, tokenizer: Any, template: str | None = None, max_length: int = 2048) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.template = template or DEFAULT_TEMPLATE
        self.max_length = max_length
        self.ids_a = self._letter_ids("A")
        self.ids_b = self._letter_ids("B")

    def _letter_ids(self, letter: str) -> list[int]:
        ids = set()
        for text in (letter, f" {letter}"):
            toks = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if toks:
                ids.add(toks[-1] if len(toks) == 1 or text.startswith(" ") else toks[0])
        return sorted(ids)

    def _text(self, prompt: str, a: str, b: str) -> str:
        body = self.template.format(prompt=prompt, a=a, b=b)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": body}], tokenize=False, add_generation_prompt=True
            )
        return body + "\nAnswer:"

    def p_first(self, texts: Sequence[str], batch_size: int = 8) -> list[float]:
        """For each judge prompt: P(A) / (P(A) + P(B)) at the next token."""
        import torch

        tok = self.tokenizer
        old = tok.padding_side, tok.truncation_side
        tok.padding_side, tok.truncation_side = "left", "left"
        out: list[float] = []
        try:
            dev = next(self.model.parameters()).device
            for start in range(0, len(texts), batch_size):
                batch = tok(
                    list(texts[start : start + batch_size]),
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    add_special_tokens=False,
                ).to(dev)
                with torch.inference_mode():
                    logits = self.model(**batch).logits[:, -1, :].float()
                logp = torch.log_softmax(logits, dim=-1)
                la = torch.logsumexp(logp[:, self.ids_a], dim=-1)
                lb = torch.logsumexp(logp[:, self.ids_b], dim=-1)
                out += torch.sigmoid(la - lb).tolist()
        finally:
            tok.padding_side, tok.truncation_side = old
        return out

    def compare(
        self,
        prompts: Sequence[str],
        candidate: Sequence[str],
        baseline: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, float]]:
        """Per example: ``p_win`` (candidate better, both orders averaged) and ``win`` (1, 0.5 tie, 0)."""
        todo = [i for i in range(len(prompts)) if candidate[i].strip() != baseline[i].strip()]
        texts = []
        for i in todo:
            texts.append(self._text(prompts[i], candidate[i], baseline[i]))  # candidate is A
            texts.append(self._text(prompts[i], baseline[i], candidate[i]))  # candidate is B
        probs = self.p_first(texts) if texts else []
        out = [{"p_win": 0.5, "win": 0.5} for _ in prompts]
        for n, i in enumerate(todo):
            p = (probs[2 * n] + (1.0 - probs[2 * n + 1])) / 2
            p = 0.5 if math.isnan(p) else p
            out[i] = {"p_win": p, "win": 0.5 if abs(p - 0.5) < TIE_BAND else float(p > 0.5)}
        if progress:
            progress(len(prompts), len(prompts))
        return out
