"""The chat-template matrix of docs/datasets.md: every real template llama.cpp ships (in the llama-cpp-python
source distribution, ``vendor/llama.cpp/models/templates/*.jinja``) × five conversations, through Tailor's
turn-by-turn assistant masks (engine/data/masks.py), rendered by transformers' own Jinja renderer.

A cell is ✓ when the trained text of every trained assistant turn is exactly what the turn shows (its
reasoning, text and tool calls as the template writes them) plus a non-empty end-of-turn marker, holding no
other turn's text; or "refused: why" when Tailor refuses the conversation before training (the template
cannot be split into turns, raises on it, or drops its tools / tool calls / reasoning). Anything else is ✗
and fails tests/data/test_template_matrix.py.

    python tests/data/template_matrix.py      # rewrites the table in docs/datasets.md
"""

from __future__ import annotations

import re
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "datasets.md"
START, END = "<!-- template-matrix:start -->", "<!-- template-matrix:end -->"
SPECIAL = {"bos_token": "<BOS>", "eos_token": "<EOS>"}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]
U1, A1, U2, A2 = "Name a red fruit.", "Strawberry is red.", "And a yellow one?", "Banana is yellow."
# (messages, tools, trained assistant indices); the weighted case is an OpenAI row with weight 0 on the first answer
CASES: dict[str, tuple[list[dict[str, Any]], Any, list[int]]] = {
    "multi-turn": (
        [{"role": "user", "content": U1}, {"role": "assistant", "content": A1},
         {"role": "user", "content": U2}, {"role": "assistant", "content": A2}],
        None, [1, 3],
    ),
    "system": (
        [{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": U1},
         {"role": "assistant", "content": A1}],
        None, [2],
    ),
    "weights": (
        [{"role": "user", "content": U1}, {"role": "assistant", "content": A1, "weight": 0},
         {"role": "user", "content": U2}, {"role": "assistant", "content": A2, "weight": 1}],
        None, [3],
    ),
    "tool call": (
        [{"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": "", "tool_calls": [
             {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
         {"role": "tool", "content": "sunny, 21 C"},
         {"role": "assistant", "content": "It is sunny in Paris."}],
        TOOLS, [1, 3],
    ),
    "reasoning": (
        [{"role": "user", "content": U1},
         {"role": "assistant", "content": A1, "reasoning_content": "Think of red fruits first."},
         {"role": "user", "content": U2},
         {"role": "assistant", "content": A2, "reasoning_content": "Now yellow fruits."}],
        None, [1, 3],
    ),
}


def templates(sdist: Path) -> dict[str, str]:
    """name -> template text, read straight out of the sdist tarball."""
    out = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if "/vendor/llama.cpp/models/templates/" in member.name and member.name.endswith(".jinja"):
                handle = tar.extractfile(member)
                if handle is not None:
                    out[Path(member.name).stem] = handle.read().decode("utf-8")
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


class TemplateTokenizer:
    """Just enough of a tokenizer for engine.data.fit and the masks: transformers' own Jinja renderer."""

    def __init__(self, template: str) -> None:
        self.chat_template = template

    def apply_chat_template(self, messages: list[dict[str, Any]], tools: Any = None, tokenize: bool = False,
                            add_generation_prompt: bool = False, chat_template: str | None = None,
                            **_: Any) -> str:
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(
            conversations=[messages], tools=tools, chat_template=chat_template or self.chat_template,
            add_generation_prompt=add_generation_prompt, **SPECIAL,
        )
        return rendered[0]


def _offsets(text: str) -> list[tuple[int, int]]:
    """A simple tokenizer: words, single whitespace and single punctuation characters."""
    return [m.span() for m in re.finditer(r"\w+|\s|[^\w\s]", text)]


def cell(template: str, case: str) -> str:
    """✓, "refused: why" or "✗ what went wrong" for one template and one conversation."""
    from tailor.engine.data.fit import FEATURES, needs, support
    from tailor.engine.data.formats import convert
    from tailor.engine.data.masks import Unsplittable, char_mask_to_tokens
    from tailor.engine.data.render import split_turns

    raw, tools, trained = CASES[case]
    (row,) = convert({"messages": raw, **({"tools": TOOLS} if tools else {})}, "messages", "sft")
    messages = row["messages"] if "messages" in row else row["prompt"] + row["completion"]
    tok = TemplateTokenizer(template)
    ok = support(tok)
    dropped = [f for f in needs(row) if not ok[f]]
    if dropped:
        return f"refused: drops {FEATURES[dropped[0]].split(' (')[0]}"

    try:  # the model's template, or TRL's prefix-preserving training version of it, as the trainer does
        full, spans = split_turns(tok, messages, trained, tools)
    except Unsplittable as exc:
        return f"refused: {exc.why}"
    offsets = _offsets(full)
    mask = char_mask_to_tokens(offsets, spans)
    by_tokens = "".join(full[a:b] for (a, b), m in zip(offsets, mask, strict=True) if m)
    if by_tokens != "".join(full[a:b] for a, b in spans):
        return "✗ tokens differ from the spans"
    others = [m["content"] for i, m in enumerate(messages) if i not in trained and m.get("content")]
    for i, (a, b) in zip(trained, spans, strict=True):
        text, msg = full[a:b], messages[i]
        last = msg["content"].strip() or msg["tool_calls"][-1]["function"]["name"]
        if last not in text:
            return f"✗ turn {i + 1} misses its text"
        if any(o.strip() in text for o in others):
            return f"✗ turn {i + 1} trains another turn's text"
        marker = text[text.rindex(last) + len(last):]
        if not marker:
            return f"✗ turn {i + 1} has no end-of-turn marker"
    return "✓"


def matrix(sdist: Path) -> dict[str, dict[str, str]]:
    return {name: {case: cell(text, case) for case in CASES} for name, text in templates(sdist).items()}


def table(result: dict[str, dict[str, str]]) -> str:
    ok = sum(v == "✓" for row in result.values() for v in row.values())
    total = sum(len(row) for row in result.values())
    whole = sum(all(v == "✓" for v in row.values()) for row in result.values())
    lines = [
        START,
        f"{len(result)} templates × {len(CASES)} conversations: {ok} of {total} cells train exactly the assistant "
        f"turns (✓), the rest are refused before training with the reason; {whole} templates pass every case. "
        "Generated by `python tests/data/template_matrix.py`; tests/data/test_template_matrix.py checks it.",
        "",
        "| template | " + " | ".join(CASES) + " |",
        "|---|" + "---|" * len(CASES),
    ]
    lines += [f"| {name} | " + " | ".join(row[c] for c in CASES) + " |" for name, row in result.items()]
    return "\n".join([*lines, END])


def replace_table(doc: str, text: str) -> str:
    if START not in doc:
        raise ValueError(f"{DOC}: no {START} marker")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + text + tail


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.outputs.llama_sdist import llama_cpp_sdist

    DOC.write_text(replace_table(DOC.read_text(encoding="utf-8"), table(matrix(llama_cpp_sdist()))), encoding="utf-8")
    print(f"wrote the template matrix to {DOC}")


if __name__ == "__main__":
    main()
