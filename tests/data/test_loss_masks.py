"""Issue 24: the loss lands on the assistant's tokens for any chat template, plain prompt/completion rows get
the chat format, OpenAI tool-call arguments are parsed, and every preview shows what the trainer trains."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from wild_helpers import TOOL_TEMPLATE, tiny_tokenizer

from tailor.engine.data.prepare import load_training_data
from tailor.engine.data.render import LossPlan, loss_plan, sequences
from tailor.engine.data.turns import RowIssue, is_blank
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSpec
from tailor.tui.cli import cli

PLAIN = (  # ChatML without {% generation %} markers (SmolLM2's, Qwen2.5's shape)
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
REWRITES = (  # an empty thinking block on the last assistant turn only, as Qwen3's template writes
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['role'] == 'assistant' and loop.last %}<think>\n\n</think>\n\n{% endif %}"
    "{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a red fruit."},
    {"role": "assistant", "content": "Strawberry."},
    {"role": "user", "content": "And a yellow one?"},
    {"role": "assistant", "content": "Banana."},
]


def _trained(seq) -> list[str]:
    return [text for text, on in seq.spans if on]


def _write(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_multi_turn_trains_exactly_the_assistant_turns_without_generation_markers():
    tok = tiny_tokenizer(PLAIN)
    (seq,) = sequences({"messages": CHAT}, tok)
    assert _trained(seq) == ["Strawberry.<|im_end|>", "Banana.<|im_end|>"]
    (whole,) = sequences({"messages": CHAT}, tok, LossPlan(train_on="all"))
    assert whole.trained == whole.tokens and whole.ids == seq.ids


def test_per_turn_weight_zero_is_not_trained(tmp_path):
    rows = [{"messages": [*CHAT[:2], {**CHAT[2], "weight": 0}, CHAT[3], {**CHAT[4], "weight": 1}]}]
    tok = tiny_tokenizer(PLAIN)
    raw, _ = load_training_data(DataSpec(train=[str(_write(tmp_path, rows))]), task="sft", seed=0)
    assert [t for r in raw for t in _trained(sequences(r, tok)[0])] == ["Banana.<|im_end|>"]


def test_a_template_that_rewrites_earlier_turns_is_refused_naming_the_switch(tmp_path):
    chat = CHAT[1:]
    tok = tiny_tokenizer(REWRITES)
    with pytest.raises(RowIssue, match=r"rewrites this turn once later turns follow.*set train_on: all"):
        sequences({"messages": chat}, tok)
    path = _write(tmp_path, [{"messages": chat}])
    with pytest.raises(DataError, match=r"data.jsonl:1: the chat template of .* cannot be split into turns"):
        load_training_data(DataSpec(train=[str(path)]), task="sft", seed=0, tokenizer=tok, plan=LossPlan())
    (whole,) = sequences({"messages": chat}, tok, LossPlan(train_on="all"))  # on purpose: trains
    assert whole.trained == whole.tokens


def test_plain_prompt_completion_gets_the_chat_template_for_chat_models():
    row = {"prompt": "Who threw the ball?", "completion": "Patrick threw it."}
    tok = tiny_tokenizer(PLAIN)
    (seq,) = sequences(row, tok)
    shown = "".join(text for text, _ in seq.spans)
    assert shown.startswith("<|im_start|>user\nWho threw the ball?<|im_end|>\n<|im_start|>assistant\n")
    assert _trained(seq) == ["Patrick threw it.<|im_end|>"]
    (raw,) = sequences(row, tok, LossPlan(prompt_completion="raw"))  # base-model style, on purpose
    assert "".join(text for text, _ in raw.spans) == "Who threw the ball?Patrick threw it.<|im_end|>"
    assert _trained(raw) == ["Patrick threw it.<|im_end|>"]
    tok.chat_template = None  # a base model: concatenated, as before
    (base,) = sequences(row, tok)
    assert base.ids == raw.ids and base.mask == raw.mask
    (text,) = sequences({"text": "just text"}, tok)
    assert text.trained == text.tokens


OPENAI_CALL = {
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
        {"role": "assistant", "content": "Sunny."},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
}


def test_openai_tool_call_arguments_are_parsed_and_rendered_once(tmp_path):
    tok = tiny_tokenizer(TOOL_TEMPLATE)
    raw, _ = load_training_data(DataSpec(train=[str(_write(tmp_path, [OPENAI_CALL]))]), task="sft", seed=0)
    call = raw[0]["messages"][1]["tool_calls"][0]
    assert call["function"]["arguments"] == {"city": "Paris"}
    (seq,) = sequences(raw[0], tok)
    assert '<tool_call>get_weather {"city": "Paris"}</tool_call><|im_end|>' in _trained(seq)
    result = CliRunner().invoke(cli, ["data", "convert", str(tmp_path / "data.jsonl")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    bad = json.loads(json.dumps(OPENAI_CALL))
    bad["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{city: Paris"
    with pytest.raises(DataError, match=r"bad.jsonl:1: messages message 2: tool call 1 \(get_weather\): 'arguments' is not valid JSON"):
        load_training_data(DataSpec(train=[str(_write(tmp_path, [bad], "bad.jsonl"))]), task="sft", seed=0)


def test_tool_schemas_are_not_blank():
    assert not is_blank(OPENAI_CALL["tools"])
    assert is_blank([{"role": "user", "content": " "}]) and is_blank([])


def test_show_row_uses_the_trainers_loss_and_max_length(tmp_path):
    path = _write(tmp_path, [{"messages": CHAT}])
    result = CliRunner().invoke(cli, ["data", "show", str(path), "--row", "1", "--json"])
    assert result.exit_code == 0, result.output
    (seq,) = [json.loads(line) for line in result.output.splitlines()]
    assert seq["train_on"] == "assistant" and seq["max_length"] == 512  # tailor/tiny's context, as the trainer
    assert [s["text"] for s in seq["spans"] if s["trained"]] == ["Strawberry.<|im_end|>", "Banana.<|im_end|>"]
    result = CliRunner().invoke(cli, ["data", "show", str(path), "--row", "1", "--json", "--train-on", "all"])
    assert json.loads(result.output)["trained"] == json.loads(result.output)["tokens"]
    recipe = tmp_path / "r.yaml"
    recipe.write_text("kind: sft\ntrain_on: all\ndata: {train: data.jsonl}\ntrain: {max_length: 64}\n")
    result = CliRunner().invoke(cli, ["data", "show", str(path), "--row", "1", "--json", "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert (shown["train_on"], shown["max_length"]) == ("all", 64)


def test_show_row_refuses_a_tool_row_the_template_drops(tmp_path):
    path = _write(tmp_path, [OPENAI_CALL])
    result = CliRunner().invoke(cli, ["data", "show", str(path), "--row", "1"])
    assert result.exit_code != 0
    assert "does not render the tool schemas" in result.output


def test_check_names_what_is_trained_and_warns_for_user_turns(tmp_path):
    path = _write(tmp_path, [{"messages": CHAT, "tools": OPENAI_CALL["tools"]}] * 2)
    report = json.loads(CliRunner().invoke(cli, ["data", "check", str(path), "--json", "--no-tokens"]).output)
    assert "tools" not in report["empty_fields"]
    chat = _write(tmp_path, [{"messages": CHAT}] * 2, "chat.jsonl")
    out = json.loads(CliRunner().invoke(cli, ["data", "check", str(chat), "--json"]).output)
    assert out["trained"] == ["assistant turns"] and out["verdict"] == "ok (trains assistant turns)"
    assert out["tokens"]["max_length"] == 512
    out = json.loads(CliRunner().invoke(cli, ["data", "check", str(chat), "--json", "--train-on", "all"]).output)
    assert out["trained"] == ["whole conversation"] and out["user_turns_trained"] == 2
    assert "the system and user turns of 2 rows are trained too (train_on: all)" in out["verdict"]
    text = _write(tmp_path, [{"text": "x" * 600}], "text.jsonl")
    out = CliRunner().invoke(cli, ["data", "check", str(text)]).output
    assert "exceed max_length 512 and will be truncated" in out and "after the chat template" not in out
    assert "trains text" in out


def test_the_plan_follows_the_recipe():
    tok = tiny_tokenizer()
    assert loss_plan(tok) == LossPlan("assistant", "chat", 512)
    assert loss_plan(tok, train={"max_length": 2048}).max_length == 2048
    from tailor.engine.recipes.load import parse_recipe

    with pytest.raises(Exception, match="train.assistant_only_loss: Tailor decides the loss with train_on"):
        parse_recipe({"kind": "sft", "data": {"train": "x.jsonl"}, "train": {"assistant_only_loss": True}},
                     source="r.yaml", base_dir=".")


def test_check_says_whether_prompt_completion_goes_through_the_chat_template(tmp_path):
    path = _write(tmp_path, [{"prompt": "Who threw the ball?", "completion": "Patrick."}] * 2)
    out = json.loads(CliRunner().invoke(cli, ["data", "check", str(path), "--json"]).output)
    assert out["trained"] == ["completion"] and out["verdict"] == "ok (trains completion)"
    raw = CliRunner().invoke(cli, ["data", "check", str(path), "--json", "--prompt-completion", "raw"]).output
    assert json.loads(raw)["trained"] == ["completion, no chat template"]


def _spans(template: str, messages, trained):
    from transformers.utils.chat_template_utils import render_jinja_template

    from tailor.engine.data.masks import assistant_spans

    def render(msgs, prompt):
        return render_jinja_template([msgs], chat_template=template, add_generation_prompt=prompt)[0][0]

    full = render(messages, False)
    return [full[a:b] for a, b in assistant_spans(messages, render, trained)]


def test_a_generation_prompt_that_opens_a_thinking_block_still_splits():
    # DeepSeek-R1-Distill / QwQ: the prompt ends "<think>\n", the finished turn does not carry it
    template = (
        "{% for m in messages %}{% if m['role'] == 'user' %}<U>{{ m['content'] }}{% else %}<A>{{ m['content'] }}<E>"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}<A><think>\n{% endif %}"
    )
    assert _spans(template, CHAT[1:], [1, 3]) == ["Strawberry.<E>", "Banana.<E>"]


def test_a_template_without_an_end_of_turn_marker_is_refused():
    from tailor.engine.data.masks import Unsplittable

    template = (  # the answer is followed by nothing: the model would never learn to stop
        "{% for m in messages %}{% if m['role'] == 'user' %}<U>{{ m['content'] }}{% else %}<A>{{ m['content'] }}"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}<A>{% endif %}"
    )
    with pytest.raises(Unsplittable, match="no end-of-turn marker after the assistant's text") as exc:
        _spans(template, CHAT[1:], [1, 3])
    assert exc.value.why == "no end-of-turn marker"
    plain = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n\n{% endfor %}" \
            "{% if add_generation_prompt %}assistant: {% endif %}"  # a blank line ends each turn: kept
    assert _spans(plain, CHAT[1:], [1]) == ["Strawberry.\n\n"]


def test_a_token_straddling_the_answers_start_is_trained():
    from tailor.engine.data.masks import char_mask_to_tokens

    # "Assistant:" | " Hi" | "<E>" with the span starting after the space: " Hi" still trains
    assert char_mask_to_tokens([(0, 10), (10, 13), (13, 16)], [(11, 16)]) == [0, 1, 1]
