"""An Ollama ``Modelfile`` beside a GGUF: template and stop tokens from the model's chat template,
parameters from the recipe's generation settings (``evaluate.generation``), and the ``ollama create``
command that imports it.

Ollama templates are Go ``text/template``s over ``.Messages``; Tailor writes them for the chat template
families it recognises (``FAMILIES``): ChatML (``<|im_start|>``: Qwen, SmolLM, Hermes...) and Llama 3
(``<|start_header_id|>``). Another template is refused with the reason (write the TEMPLATE by hand).
A template that injects a default system prompt when the conversation has none (SmolLM2's does) gets it
as the Modelfile's SYSTEM, so Ollama sends it the same way.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.engine.exporters.gguf import ExportError


@dataclass(frozen=True)
class Family:
    name: str
    marker: str  # a string only this family's chat template contains
    template: str  # the Go template Ollama renders
    stop: tuple[str, ...]


FAMILIES = (
    Family(
        "chatml",
        "<|im_start|>",
        "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
        ("<|im_start|>", "<|im_end|>"),
    ),
    Family(
        "llama3",
        "<|start_header_id|>",
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    ),
)


def family_of(chat_template: str | None) -> Family:
    if not chat_template:
        raise ExportError("the model has no chat template, so there is no Modelfile TEMPLATE to write; use --gguf without --modelfile")
    for family in FAMILIES:
        if family.marker in chat_template:
            return family
    names = ", ".join(f.name for f in FAMILIES)
    raise ExportError(f"the model's chat template is none Tailor can translate for Ollama ({names}); write the Modelfile's TEMPLATE by hand")


def default_system(tokenizer: Any) -> str | None:
    """The system prompt the chat template adds when a conversation has none (None: it adds none)."""
    marker = "\x00TAILOR\x00"
    bare = tokenizer.apply_chat_template([{"role": "user", "content": marker}], tokenize=False)
    with_system = tokenizer.apply_chat_template(
        [{"role": "system", "content": marker + "S"}, {"role": "user", "content": marker}], tokenize=False
    )
    head = bare.split(marker)[0]
    if head == with_system.split(marker + "S")[0]:
        return None  # nothing was injected before the user turn
    family = family_of(tokenizer.chat_template)
    if family.name == "chatml" and head.startswith("<|im_start|>system\n") and head.endswith("<|im_end|>\n<|im_start|>user\n"):
        return head.removeprefix("<|im_start|>system\n").removesuffix("<|im_end|>\n<|im_start|>user\n")
    return None


def parameters(generation: dict[str, Any] | None, stop: tuple[str, ...]) -> list[tuple[str, Any]]:
    gen = generation or {}
    params: list[tuple[str, Any]] = []
    if gen.get("greedy", True):
        params.append(("temperature", 0))
    else:
        params += [("temperature", gen.get("temperature", 0.7)), ("top_p", gen.get("top_p", 1.0))]
    if "max_new_tokens" in gen:
        params.append(("num_predict", gen["max_new_tokens"]))
    for s in [*stop, *gen.get("stop", [])]:
        params.append(("stop", s))
    return params


def render(gguf_name: str, tokenizer: Any, generation: dict[str, Any] | None) -> str:
    family = family_of(getattr(tokenizer, "chat_template", None))
    lines = [f"# Ollama Modelfile written by Tailor (chat template family: {family.name})", f"FROM ./{gguf_name}", ""]
    lines.append(f'TEMPLATE """{family.template}"""')
    system = default_system(tokenizer)
    if system:
        lines.append(f'SYSTEM """{system}"""')
    for key, value in parameters(generation, family.stop):
        lines.append(f"PARAMETER {key} {json.dumps(value) if isinstance(value, str) else value}")
    return "\n".join(lines) + "\n"


def write(folder: Path, gguf_name: str, tokenizer: Any, generation: dict[str, Any] | None) -> Path:
    path = folder / "Modelfile"
    path.write_text(render(gguf_name, tokenizer, generation), encoding="utf-8")
    return path


def create_command(folder: Path, name: str) -> str:
    return f"ollama create {shlex.quote(name)} -f {shlex.quote(str(folder / 'Modelfile'))}"
