"""Ollama Modelfile, vLLM command, model card and Hub push (offline refusal) of ``tailor export``."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from train_helpers import SHORT, make_run, succeeded

from tailor.engine.exporters import modelcard, ollama, vllm
from tailor.engine.exporters.gguf import ExportError

CONVERSATIONS = [
    [{"role": "system", "content": "You reverse words."}, {"role": "user", "content": "Reverse: abcd"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Reverse: wxyz"},
    ],
]


def render_go(template: str, messages: list[dict], system: str | None) -> str:
    """Ollama's rendering of the templates Tailor writes: ``range .Messages`` over the conversation (the
    Modelfile's SYSTEM first when the conversation has no system message), ``.Role`` / ``.Content``, and
    ``{{-`` trimming. Anything else in a template fails here, so a new construct needs a real renderer."""
    if system and messages[0]["role"] != "system":
        messages = [{"role": "system", "content": system}, *messages]
    match = re.fullmatch(r"\{\{- range \.Messages \}\}(.*?)\{\{ end \}\}(.*)", template, re.S)
    assert match, template
    body, tail = match.groups()
    assert set(re.findall(r"\{\{.*?\}\}", body)) <= {"{{ .Role }}", "{{ .Content }}"} and "{{" not in tail
    out = "".join(body.replace("{{ .Role }}", m["role"]).replace("{{ .Content }}", m["content"]) for m in messages)
    return out + tail


def test_modelfile_template_renders_like_the_chat_template(smollm2_hf) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_hf))
    family = ollama.family_of(tok.chat_template)
    assert family.name == "chatml"
    system = ollama.default_system(tok)
    assert system and "SmolLM" in system  # SmolLM2's template adds this when a chat has no system turn
    for messages in [*CONVERSATIONS, [{"role": "user", "content": "Reverse: abcd"}]]:
        expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert render_go(family.template, messages, system) == expected
    text = ollama.render("m.gguf", tok, {"greedy": False, "temperature": 0.3, "top_p": 0.9, "max_new_tokens": 32})
    assert text.splitlines()[1] == "FROM ./m.gguf"
    for line in ("PARAMETER temperature 0.3", "PARAMETER top_p 0.9", "PARAMETER num_predict 32", 'PARAMETER stop "<|im_end|>"'):
        assert line in text
    assert f'SYSTEM """{system}"""' in text


# Meta's Llama 3 Instruct chat template (tokenizer_config.json of Meta-Llama-3-8B-Instruct).
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


def test_llama3_modelfile_template_renders_like_the_chat_template() -> None:
    """The Llama 3 family: the same text as Meta's template, less the BOS token (llama.cpp adds it when it
    tokenizes, as the GGUF says add_bos_token)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    family = ollama.family_of(LLAMA3_TEMPLATE)
    assert family.name == "llama3" and "<|eot_id|>" in family.stop
    template = ImmutableSandboxedEnvironment().from_string(LLAMA3_TEMPLATE)
    for messages in [*CONVERSATIONS, [{"role": "user", "content": "Reverse: abcd"}]]:
        expected = template.render(messages=messages, bos_token="<|begin_of_text|>", add_generation_prompt=True)
        assert "<|begin_of_text|>" + render_go(family.template, messages, None) == expected


def test_unknown_chat_template_is_refused_with_the_reason() -> None:
    with pytest.raises(ExportError, match="none Tailor can translate for Ollama"):
        ollama.family_of("{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}")
    with pytest.raises(ExportError, match="no chat template"):
        ollama.family_of(None)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from tailor.engine.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("tiny") / "ws").ensure()
    run = make_run(ws, "demo-sft.yaml", SHORT)
    succeeded(run)
    return run


@pytest.mark.slow
def test_export_writes_a_model_card_and_prints_the_vllm_command(tiny_run, tmp_path) -> None:
    from tailor.engine.exporters.targets import export

    report = export(tiny_run, tmp_path / "adapter")
    card = (report.path / "README.md").read_text()
    assert card.startswith("---\nbase_model: tailor/tiny\nlibrary_name: peft\n")
    assert f"# {tiny_run.run_id}" in card
    assert "| train | `train.jsonl` | 32 |" in card and "| eval | `eval.jsonl` | 8 |" in card  # max_rows caps
    losses = modelcard.final_metrics(tiny_run)
    assert f"| loss | {losses['loss']:.4g} |" in card and "| eval_loss |" in card
    assert "```yaml\n" in card and "kind: sft" in card
    (command,) = report.next_steps
    assert command == vllm.serve_command("tailor/tiny", report.path, tiny_run.run_id)
    assert command.startswith("vllm serve tailor/tiny --enable-lora --lora-modules ") and command.endswith("--max-lora-rank 16")
    merged = export(tiny_run, tmp_path / "merged", merge=True)
    assert "library_name: transformers" in (merged.path / "README.md").read_text() and not merged.next_steps


def test_push_to_hub_offline_fails_at_once(tiny_run, tmp_path, monkeypatch) -> None:
    from tailor.tui.cli import cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ws = tiny_run.path.parent.parent
    result = CliRunner().invoke(
        cli, ["-w", str(ws), "export", tiny_run.run_id, str(tmp_path / "x"), "--push-to-hub", "me/model"]
    )
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert "--push-to-hub me/model: the Hub is offline here (HF_HUB_OFFLINE=1)" in last
    assert "Traceback" not in result.output and not (tmp_path / "x").exists()
