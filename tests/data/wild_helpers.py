"""Helpers for the real-sample layout tests: the tiny model, TRL's own masks, a template that renders tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A ChatML template that renders tools, tool calls and reasoning, with {% generation %} markers so that
# TRL's assistant_only_loss works (the built-in tiny model's template renders none of them).
TOOL_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\nTools: ' + (tools | tojson) + '<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}"
    "{%- if message.get('reasoning_content') %}{{- '<think>' + message['reasoning_content'] + '</think>' }}{%- endif %}"
    "{{- message['content'] }}"
    "{%- for call in message.get('tool_calls') or [] %}"
    "{{- '<tool_call>' + call['function']['name'] + ' ' + (call['function']['arguments'] | tojson) + '</tool_call>' }}"
    "{%- endfor %}"
    "{{- '<|im_end|>' }}"
    "{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def tiny_tokenizer(template: str | None = None) -> Any:
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec

    tok = load_tokenizer(ModelSpec(name_or_path="tailor/tiny"))
    if template:
        tok.chat_template = template
    return tok


def sft_prepared(model: Any, tok: Any, dataset: Any, out: Path, **config: Any) -> Any:
    """The dataset as SFTTrainer tokenizes it (input_ids, and the loss mask folded into labels)."""
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(out), max_steps=1, report_to=[], max_length=None, bf16=False, use_cpu=True, **config
    )
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok).train_dataset


def trained_text(tok: Any, row: dict[str, Any]) -> str:
    """The text of the tokens TRL trains on (labels != -100, or completion/assistant masks)."""
    ids = row["input_ids"]
    if "labels" in row:
        mask = [int(x != -100) for x in row["labels"]]
    else:
        mask = [1] * len(ids)
        for key in ("completion_mask", "assistant_masks"):
            if key in row:
                mask = [a & b for a, b in zip(mask, row[key], strict=False)]
    return tok.decode([i for i, m in zip(ids, mask, strict=False) if m], skip_special_tokens=False)
