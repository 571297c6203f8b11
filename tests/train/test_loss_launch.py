"""The launch: the run's first events say which tokens the loss covers, and a chat template that cannot be
split into turns is refused before the model loads, naming train_on: all (which then trains)."""

from __future__ import annotations

import json

from train_helpers import SHORT, logs, make_run, run_worker

from tailor.engine.runs.status import RunState

REWRITES = (  # an empty thinking block on the last assistant turn only, as Qwen3's template writes
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['role'] == 'assistant' and loop.last %}<think>\n\n</think>\n\n{% endif %}"
    "{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CHAT = [{"role": "user", "content": "Reverse: abcd"}, {"role": "assistant", "content": "dcba"},
        {"role": "user", "content": "Reverse: wxyz"}, {"role": "assistant", "content": "zyxw"}]


def _run(workspace, tmp_path, **extra):
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps({"messages": CHAT}) + "\n" for _ in range(8)))
    overrides = {**SHORT, "data.train": str(data), "data.eval": None, "train.max_steps": 1,
                 "model.chat_template": REWRITES, **extra}
    run = make_run(workspace, "demo-sft.yaml", overrides)
    return run, run_worker(run)


def test_an_unsplittable_template_is_refused_before_the_model_loads(workspace, tmp_path) -> None:
    run, status = _run(workspace, tmp_path)
    assert status.state == RunState.FAILED
    assert "chat.jsonl:1: the chat template of tailor/tiny cannot be split into turns (turn 2 (assistant): " in status.error
    assert status.error.endswith("or set train_on: all in the recipe to train the whole conversation on purpose")
    notes = logs(run)
    assert notes and any(m.startswith("loss: the assistant's turns only") for m in notes[:3]), notes
    assert not any("trainable" in m for m in notes)


def test_train_on_all_trains_the_whole_conversation_on_purpose(workspace, tmp_path) -> None:
    run, status = _run(workspace, tmp_path, train_on="all")
    assert status.state == RunState.SUCCEEDED, status.error
    assert any(m.startswith("loss: every token, system and user turns included") for m in logs(run)[:3])
