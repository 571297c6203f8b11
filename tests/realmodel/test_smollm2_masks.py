"""SmolLM2-135M-Instruct's real tokenizer and template (no {% generation %} markers): multi-turn SFT trains
exactly the assistant turns, as TRL's own collator outputs them, and as TRL masks them itself once the
template is given the markers it lacks. Needs only the converted model (no training chain)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROW = "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
MARKED = (  # the same turn, the assistant's text and <|im_end|> inside {% generation %}
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}{% generation %}"
    "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}{% else %}" + ROW + "{% endif %}"
)


def _prepared(model, tok, dataset, out: Path, **config):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(out), max_steps=1, report_to=[], max_length=None, use_cpu=True, **config)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok)
    return trainer, trainer.data_collator([trainer.train_dataset[i] for i in range(len(dataset))])


def test_multi_turn_sft_on_smollm2_trains_only_the_assistant_turns(smollm2_hf, shared_data, tmp_path):
    import torch

    from tailor.engine.data.prepare import load_training_data
    from tailor.engine.data.render import loss_plan, sequences
    from tailor.engine.models.loading import load_model, load_tokenizer
    from tailor.engine.recipes.common import DataSpec, ModelSpec

    alpaca = json.loads((shared_data / "llamafactory" / "alpaca_en_demo.json").read_text())
    convos = []
    for k in range(2):  # Axolotl-style chat rows: a system turn and three exchanges each
        msgs = [{"role": "system", "content": "You are a helpful assistant."}]
        for r in alpaca[3 * k: 3 * k + 3]:
            msgs += [{"role": "user", "content": r["instruction"]}, {"role": "assistant", "content": r["output"]}]
        convos.append({"messages": msgs})
    path = tmp_path / "axo_conversation.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in convos))

    spec = ModelSpec(name_or_path=str(smollm2_hf), dtype="float32")
    tok = load_tokenizer(spec)
    model = load_model(spec, dtype="float32")
    plan = loss_plan(tok, max_length=None)
    data = DataSpec(train=[str(path)])
    encoded, _ = load_training_data(data, task="sft", seed=0, tokenizer=tok, plan=plan)
    _, batch = _prepared(model, tok, encoded, tmp_path / "tailor")
    raw, _ = load_training_data(data, task="sft", seed=0)
    marked = load_tokenizer(spec)
    assert ROW in marked.chat_template
    marked.chat_template = marked.chat_template.replace(ROW, MARKED)
    _, trl_batch = _prepared(model, marked, raw, tmp_path / "trl", assistant_only_loss=True)
    for i, convo in enumerate(convos):
        (seq,) = sequences(raw[i], tok, plan)
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        n = seq.tokens
        assert ids[:n].tolist() == seq.ids and [int(x != -100) for x in labels[:n].tolist()] == seq.mask
        trained = tok.decode(ids[labels != -100], skip_special_tokens=False)
        answers = [m["content"] for m in convo["messages"] if m["role"] == "assistant"]
        assert trained == "".join(a + "<|im_end|>" for a in answers)
        assert "helpful assistant" not in trained and convo["messages"][1]["content"] not in trained
        # TRL's own assistant masks, given the markers SmolLM2's template lacks, train the same tokens
        assert torch.equal(trl_batch["input_ids"][i], ids) and torch.equal(trl_batch["labels"][i], labels)
