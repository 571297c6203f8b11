"""Tokenize a converted row exactly as the trainers do, and mark the tokens that are trained on.

``sequences`` is the ONE function behind both the SFT trainer's dataset (``encode_sft``: Tailor hands TRL
pre-tokenized ``input_ids`` with ``assistant_masks``) and every preview (``tailor data show --row``, the TUI's
row detail, ``tailor data check``), so what is shown is what is trained. A ``LossPlan`` (``loss_plan``) holds
what the recipe decides: which tokens are trained (``train_on``), how plain prompt/completion strings are
rendered, and the max_length the trainer cuts at. Assistant turns are found for any chat template by
rendering turn by turn (engine/data/masks.py). DPO/KTO rows mirror ``DPOTrainer._prepare_dataset`` (TRL 1.x).
Imports transformers/trl lazily (call it from a worker thread).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from tailor.engine.data.masks import Unsplittable, assistant_spans, char_mask_to_tokens

TrainOn = Literal["assistant", "all"]
PromptCompletion = Literal["chat", "raw"]
TRL_MAX_LENGTH = 1024  # SFTConfig's default
LOSS_TEXT = {
    "assistant": "loss: the assistant's turns only, each with its end-of-turn marker (found by rendering the "
    "conversation turn by turn), or the completion; plain text rows whole (train_on: all trains every token)",
    "all": "loss: every token, system and user turns included (train_on: all; train_on: assistant trains only "
    "the assistant's turns)",
}


@dataclass(frozen=True)
class LossPlan:
    """What a recipe decides about the loss: ``train_on`` (assistant: the assistant's turns, or the completion,
    only; all: every token), ``prompt_completion`` (chat: plain prompt/completion strings become one user and
    one assistant turn through the chat template; raw: concatenated, as for base models) and ``max_length``."""

    train_on: TrainOn = "assistant"
    prompt_completion: PromptCompletion = "chat"
    max_length: int | None = TRL_MAX_LENGTH


def default_max_length(tok: Any) -> int:
    """The max_length the SFT trainer uses when the recipe sets none: TRL's 1024, or a smaller model's context."""
    limit = getattr(tok, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < TRL_MAX_LENGTH else TRL_MAX_LENGTH


def loss_plan(
    tok: Any,
    *,
    train_on: str = "assistant",
    prompt_completion: str = "chat",
    train: dict[str, Any] | None = None,
    max_length: int | None | Literal["default"] = "default",
) -> LossPlan:
    """The plan the SFT trainer follows for ``tok`` and a recipe's fields (its ``train:`` block gives
    max_length; an explicit ``max_length`` wins; neither: ``default_max_length``). ``train_on`` and
    ``prompt_completion`` take the recipe's values (checked here, as they also come from CLI options)."""
    if train_on not in ("assistant", "all"):
        raise ValueError(f"train_on: {train_on!r} is not assistant or all")
    if prompt_completion not in ("chat", "raw"):
        raise ValueError(f"prompt_completion: {prompt_completion!r} is not chat or raw")
    cut: int | None = (train or {}).get("max_length", default_max_length(tok)) if max_length == "default" else max_length
    return LossPlan(cast(TrainOn, train_on), cast(PromptCompletion, prompt_completion), cut)


def recipe_plan(recipe: Any, tok: Any) -> LossPlan:
    """``loss_plan`` for an SFT recipe."""
    return loss_plan(
        tok, train_on=recipe.train_on, prompt_completion=recipe.prompt_completion, train=recipe.train
    )


@dataclass
class Rendered:
    """One training sequence: token ids, the trained-on mask (1 = in the loss), and text spans to show."""

    title: str
    ids: list[int]
    mask: list[int]
    spans: list[tuple[str, bool]] = field(default_factory=list)
    max_length: int | None = None

    @property
    def tokens(self) -> int:
        return len(self.ids)

    @property
    def trained(self) -> int:
        """Tokens in the loss, after the trainer's cut at max_length."""
        return sum(self.mask[: self.max_length] if self.max_length else self.mask)

    @property
    def truncated(self) -> bool:
        return self.max_length is not None and self.tokens > self.max_length


def _tokenize(tok: Any, value: str | list, **kwargs: Any) -> dict[str, list]:
    if isinstance(value, list):
        return tok.apply_chat_template(value, tokenize=True, return_dict=True, **kwargs)
    return tok(text=value)


def _prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _tools(row: dict[str, Any]) -> Any:
    tools = row.get("tools")
    return json.loads(tools) if isinstance(tools, str) else tools


CHAT_TRAINED = {"assistant turns", "whole conversation", "completion"}  # rows rendered by the chat template


def what_is_trained(row: dict[str, Any], tok: Any, plan: LossPlan) -> str:
    """For an SFT row under ``plan``: "assistant turns", "whole conversation" or "completion" (through the
    chat template), "completion, no chat template" / "whole text, no chat template" (plain strings
    concatenated: prompt_completion: raw, or a model without a template) or "text"."""
    if "messages" in row or isinstance(row.get("prompt"), list) or _as_chat(row, tok, plan):
        if plan.train_on == "all":
            return "whole conversation"
        return "assistant turns" if "messages" in row else "completion"
    if "completion" in row:
        what = "completion" if plan.train_on == "assistant" else "whole text"
        return f"{what}, no chat template"
    return "text"


def _as_chat(row: dict[str, Any], tok: Any, plan: LossPlan) -> bool:
    """A plain-string prompt/completion row rendered as one user and one assistant turn (as mlx-lm does)."""
    return (
        isinstance(row.get("prompt"), str)
        and "completion" in row
        and "label" not in row
        and plan.prompt_completion == "chat"
        and bool(getattr(tok, "chat_template", None))
    )


def training_template(tok: Any) -> str | None:
    """TRL's prefix-preserving training version of the tokenizer's chat template (Qwen3, DeepSeek, Gemma, GLM,
    Cohere... render earlier turns differently from later ones), or None when TRL has none (cached)."""
    if hasattr(tok, "_tailor_training_template"):
        return tok._tailor_training_template
    try:
        from trl.chat_template_utils import get_training_chat_template

        found = get_training_chat_template(tok)
    except Exception:  # an unknown template: TRL cannot patch it
        found = None
    with contextlib.suppress(AttributeError):  # a tokenizer with __slots__ is asked each time
        tok._tailor_training_template = found
    return found


def split_turns(
    tok: Any, messages: list[dict[str, Any]], trained: list[int], tools: Any
) -> tuple[str, list[tuple[int, int]]]:
    """(text, character spans of the trained assistant turns) under the model's chat template, or, when it
    cannot be split, under TRL's prefix-preserving training version of it (what TRL itself trains with);
    Unsplittable (the model's own reason) when neither splits."""

    def split(template: str | None) -> tuple[str, list[tuple[int, int]]]:
        def render(msgs: list[dict[str, Any]], prompt: bool) -> str:
            return tok.apply_chat_template(
                msgs, tools=tools, tokenize=False, add_generation_prompt=prompt, chat_template=template
            )

        spans = assistant_spans(messages, render, trained)  # first: it turns template errors into refusals
        return render(messages, False), spans

    try:
        return split(None)
    except Unsplittable as exc:
        patched = training_template(tok)
        if patched is None:
            raise
        try:
            return split(patched)
        except Unsplittable:
            raise exc from None


def conversation(tok: Any, messages: list[dict[str, Any]], trained: list[int], tools: Any) -> tuple[list[int], list[int]]:
    """(ids, mask) of a conversation whose assistant turns at ``trained`` are in the loss; Unsplittable when the
    template cannot be split turn by turn."""
    text, spans = split_turns(tok, messages, trained, tools)
    if getattr(tok, "is_fast", False):
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), char_mask_to_tokens(enc["offset_mapping"], spans)
    # a slow tokenizer has no offsets: a span's edges are where the text cut there stops matching the whole
    ids = list(tok(text, add_special_tokens=False)["input_ids"])
    mask = [0] * len(ids)
    for start, end in spans:
        a, b = (_prefix(list(tok(text[:c], add_special_tokens=False)["input_ids"]), ids) for c in (start, end))
        mask[a:b] = [1] * (b - a)
    return ids, mask


def refusal(exc: Unsplittable, model: str = "the model") -> str:
    """The one line a row whose assistant turns cannot be found is refused with."""
    return (
        f"the chat template of {model} cannot be split into turns ({exc}); so only the assistant's text is "
        "trained, fix or replace the template (model.chat_template), or set train_on: all in the recipe to "
        "train the whole conversation on purpose"
    )


def sequences(
    row: dict[str, Any],
    tok: Any,
    plan: LossPlan | None = None,
    *,
    spans: bool = True,
    model: str | None = None,
) -> list[Rendered]:
    """The sequences a trainer builds from ``row`` (one for SFT/KTO, chosen and rejected for DPO).

    SFT rows follow ``plan`` (default: ``LossPlan()``); a conversation whose assistant turns cannot be found
    raises RowIssue with ``refusal``'s line, naming ``model`` (default: the tokenizer's path).
    """
    plan = plan or LossPlan()
    kw: dict[str, Any] = {"tools": _tools(row)}
    eos = tok.eos_token or ""
    out: list[tuple[str, list[int], list[int]]] = []
    if "chosen" in row:
        conv = isinstance(row["prompt"], list)
        prompt_ids = (
            _tokenize(tok, row["prompt"], add_generation_prompt=True, **kw)["input_ids"]
            if conv
            else _tokenize(tok, row["prompt"])["input_ids"]
        )
        full = {}
        for side in ("chosen", "rejected"):
            answer = row[side] if conv or row[side].endswith(eos) else row[side] + eos
            full[side] = _tokenize(tok, row["prompt"] + answer, **(kw if conv else {}))["input_ids"]
        n = min(_prefix(prompt_ids, full["chosen"]), _prefix(prompt_ids, full["rejected"]))
        for side in ("chosen", "rejected"):
            ids = full[side]
            out.append((side, ids, [0] * n + [1] * (len(ids) - n)))
    elif "label" in row:  # KTO: TRL's own prompt/completion split
        conv = isinstance(row["prompt"], list)
        if conv:
            prompt_ids = _tokenize(tok, row["prompt"], add_generation_prompt=True, **kw)["input_ids"]
            ids = _tokenize(tok, row["prompt"] + row["completion"], **kw)["input_ids"]
        else:
            completion = row["completion"] if row["completion"].endswith(eos) else row["completion"] + eos
            prompt_ids = _tokenize(tok, row["prompt"])["input_ids"]
            ids = _tokenize(tok, row["prompt"] + completion)["input_ids"]
        n = _prefix(prompt_ids, ids)
        out.append((f"completion (label {row['label']})", ids, [0] * n + [1] * (len(ids) - n)))
    elif "messages" in row or isinstance(row.get("prompt"), list) or _as_chat(row, tok, plan):
        if "messages" in row:
            msgs, first, title = row["messages"], 0, "conversation"
        elif isinstance(row["prompt"], list):
            msgs, first, title = row["prompt"] + row["completion"], len(row["prompt"]), "completion"
        else:
            msgs = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}]
            first, title = 1, "completion (as one user and one assistant turn)"
        trained = [i for i, m in enumerate(msgs) if i >= first and m.get("role") == "assistant"]
        if plan.train_on == "all":
            text = tok.apply_chat_template(msgs, tools=kw["tools"], tokenize=False)
            ids = list(tok(text, add_special_tokens=False)["input_ids"])
            mask = [1] * len(ids)
        else:
            try:
                ids, mask = conversation(tok, msgs, trained, kw["tools"])
            except Unsplittable as exc:
                from tailor.engine.data.turns import RowIssue

                raise RowIssue(refusal(exc, model or getattr(tok, "name_or_path", None) or "the model")) from None
        out.append((title, ids, mask))
    elif "completion" in row:  # plain strings, concatenated (base models, or prompt_completion: raw)
        completion = row["completion"] if row["completion"].endswith(eos) else row["completion"] + eos
        prompt_ids = _tokenize(tok, row["prompt"])["input_ids"]
        ids = _tokenize(tok, row["prompt"] + completion)["input_ids"]
        n = _prefix(prompt_ids, ids) if plan.train_on == "assistant" else 0
        out.append(("completion (prompt and completion concatenated)", ids, [0] * n + [1] * (len(ids) - n)))
    else:
        text = row.get("text") or ""
        ids = _tokenize(tok, text if text.endswith(eos) else text + eos)["input_ids"]
        out.append(("text", ids, [1] * len(ids)))
    return [
        Rendered(title, ids, mask, _spans(tok, ids, mask) if spans else [], plan.max_length)
        for title, ids, mask in out
    ]


def _spans(tok: Any, ids: list[int], mask: list[int]) -> list[tuple[str, bool]]:
    """Decoded runs of tokens with the same mask value, for highlighting."""
    out: list[tuple[str, bool]] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or mask[i] != mask[start]:
            out.append((tok.decode(ids[start:i], skip_special_tokens=False), bool(mask[start])))
            start = i
    return out


def token_lengths(row: dict[str, Any], tok: Any) -> int:
    """The longest sequence a row makes (what truncation applies to)."""
    return max(r.tokens for r in sequences(row, tok, spans=False))


def encode_sft(
    rows: list[dict[str, Any]], locs: list[Any], tok: Any, plan: LossPlan, model: str
) -> list[dict[str, list[int]]]:
    """The SFT trainer's pre-tokenized rows (``input_ids`` and the ``assistant_masks`` TRL folds into its
    labels), built by ``sequences``; DataError naming the file and line of a row that cannot be split."""
    from tailor.engine.data.turns import RowIssue
    from tailor.engine.errors import DataError

    out = []
    for row, loc in zip(rows, locs, strict=True):
        try:
            (seq,) = sequences(row, tok, plan, spans=False, model=model)
        except RowIssue as exc:
            raise DataError(f"{loc}: {exc}") from None
        out.append({"input_ids": seq.ids, "assistant_masks": seq.mask})
    return out


def truncation_warning(rows: Any, tok: Any, max_length: int | None, *, sample: int = 200, share: float = 0.1) -> str | None:
    """A warning when ``max_length`` cuts at least ``share`` of the rows (the first ``sample`` rows are
    measured as the trainer tokenizes them), else None. Called by the trainers at launch."""
    if not max_length:
        return None
    n = min(len(rows), sample)
    lengths = [
        len(rows[i]["input_ids"]) if "input_ids" in rows[i] else token_lengths(dict(rows[i]), tok) for i in range(n)
    ]
    over = [t for t in lengths if t > max_length]
    if not n or len(over) / n < share:
        return None
    return (f"max_length {max_length} truncates {len(over) / n:.0%} of the rows ({len(over)} of the first {n}; "
            f"longest {max(over)} tokens): their ends, often the answer, are not trained on; raise "
            "train.max_length or drop the long rows (tailor data check shows them)")


TASK_OF = {"preference": "preference", "unpaired_preference": "unpaired_preference"}


def render_record(data: dict[str, Any], fmt: str, tok: Any, plan: LossPlan, model: str, loc: Any = None) -> list[Rendered]:
    """One source row as the trainer tokenizes it (``tailor data show --row`` and the TUI's row detail):
    converted for its format's task, refused (RowIssue) when the template drops its tools / tool calls /
    reasoning or cannot be split into turns, else its sequences under ``plan``."""
    from tailor.engine.data.fit import first_unrenderable, unrenderable_message
    from tailor.engine.data.formats import convert
    from tailor.engine.data.records import Loc
    from tailor.engine.data.turns import RowIssue

    rows = convert(data, fmt, TASK_OF.get(fmt, "sft"))  # type: ignore[arg-type]
    hit = first_unrenderable([(row, loc or Loc("row")) for row in rows], tok)
    if hit:  # rendering it would show (and train) an empty assistant turn
        raise RowIssue(unrenderable_message(*hit, model))
    return [s for row in rows for s in sequences(row, tok, plan, model=model)]
