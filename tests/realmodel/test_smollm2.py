"""SmolLM2-135M-Instruct end to end: GGUF in, identity SFT, evaluation, chained DPO, exports that load in
plain transformers and answer exactly as Tailor's evaluation did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import AUTHOR, MAX_NEW, NAME, Chain

from tailor.engine.runs.rundir import RunDir

# The shared chain (SFT, DPO, evaluation) is built in the first test's setup: a few minutes on 2 idle cores,
# several times that on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def greedy(folder: Path, prompts: list[str], max_new_tokens: int = MAX_NEW) -> list[str]:
    """Plain transformers: load ``folder``, chat-template each prompt, greedy-decode one at a time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    out = []
    for prompt in prompts:
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
        out.append(tok.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    return out


def predictions(run: RunDir) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run.eval_dir / "predictions.jsonl").read_text().splitlines()]


def user_text(prompt: Any) -> str:
    return prompt if isinstance(prompt, str) else next(m["content"] for m in prompt if m["role"] == "user")


def test_data_check_renders_the_real_template_with_the_answer_and_im_end_trained(chain: Chain) -> None:
    from tailor.engine.data.formats import convert
    from tailor.engine.data.render import sequences
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec
    from tailor.tui.cli import cli

    result = CliRunner().invoke(cli, ["-w", str(chain.ws.root), "data", "check", str(chain.identity), "-m", str(chain.gguf)])
    assert result.exit_code == 0, result.output
    assert "91" in result.output  # rows
    tok = load_tokenizer(ModelSpec(name_or_path=str(chain.gguf)))
    row = json.loads(chain.identity.read_text())[2]
    (converted,) = convert(row, "alpaca", "sft")
    (seq,) = sequences(converted, tok)
    trained = "".join(text for text, on in seq.spans if on)
    assert trained == row["output"] + "<|im_end|>\n" or trained == row["output"] + "<|im_end|>"
    first = next(i for i, (_text, on) in enumerate(seq.spans) if on)
    prompt = "".join(text for text, _on in seq.spans[:first])  # untrained, up to the answer
    assert "<|im_start|>system\nYou are a helpful AI assistant named SmolLM" in prompt  # the GGUF's template
    assert prompt.endswith("<|im_start|>assistant\n")
    # SmolLM2's template has no {% generation %} markers: the assistant turns are found turn by turn
    (multi,) = sequences({"messages": [*converted["prompt"], *converted["completion"]]}, tok)
    assert "".join(text for text, on in multi.spans if on) == row["output"] + "<|im_end|>"


def test_sft_from_the_gguf_file_learns_the_identity(chain: Chain) -> None:
    from tailor.engine.models.gguf import converted_dir

    lineage_base = json.loads((chain.sft.adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert Path(lineage_base) == converted_dir(chain.gguf.resolve())  # the adapter names a base that loads
    (answer,) = greedy(_export(chain, chain.sft, "sft-merged"), ["Who are you?"])
    (base,) = greedy(converted_dir(chain.gguf.resolve()), ["Who are you?"])
    assert NAME in answer and AUTHOR in answer, answer
    assert NAME not in base and AUTHOR not in base, base


def test_evaluation_puts_the_fine_tune_ahead_of_base_zero_and_few_shot(chain: Chain) -> None:
    from tailor.engine.eval.results import load_results

    res = load_results(chain.eval.path)
    by_id = {m.id: m for m in res.models}
    assert set(by_id) == {"base", "base-2shot", chain.sft.run_id, chain.dpo.run_id}
    assert res.examples == 8  # the SFT run's eval_split rows
    tuned = by_id[chain.sft.run_id].metrics["rouge_l"]
    assert tuned > by_id["base"].metrics["rouge_l"] + 0.2
    assert tuned > by_id["base-2shot"].metrics["rouge_l"]
    logs = [e["message"] for e in chain.eval.events() if e["type"] == "log"]
    assert not any("few_shot" in m and "warning" in m for m in logs)


def test_dpo_chained_from_sft_logs_rewards(chain: Chain) -> None:
    values: dict[str, float] = {}
    for e in chain.dpo.events():
        if e["type"] == "metric" and e["split"] == "train":
            values.update(e["values"])
    assert {"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"} <= set(values)
    lineage = json.loads((chain.dpo.adapter_dir / "tailor_lineage.json").read_text())
    assert lineage["merge_first"] == [str(chain.sft.adapter_dir)]


@pytest.mark.parametrize("which", ["sft", "dpo"])
def test_merged_export_answers_exactly_as_tailors_evaluation(chain: Chain, which: str) -> None:
    """The DPO export keeps its SFT parent merged in: it answers as evaluated, with the identity."""
    run = chain.sft if which == "sft" else chain.dpo
    preds = predictions(chain.eval)
    prompts = [user_text(p["prompt"]) for p in preds]
    answers = greedy(_export(chain, run, f"{which}-merged"), prompts)
    assert answers == [p["outputs"][run.run_id].strip() for p in preds]
    assert sum(NAME in a for a in answers) >= len(answers) // 2


def test_a_merged_model_that_does_not_reproduce_the_run_is_refused(chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping the SFT parent from the DPO run's lineage (the old export) fails the check: exit 2, nothing written."""
    import tailor.engine.eval.candidates as candidates
    from tailor.tui.cli import cli

    monkeypatch.setattr(candidates, "chain_start", lambda *a, **k: (None, []))
    out = tmp_path / "broken"
    result = CliRunner().invoke(cli, ["-w", str(chain.ws.root), "export", chain.dpo.run_id, "--merge", str(out)])
    assert result.exit_code == 2, result.output
    assert "does not reproduce the run" in result.stderr and "nothing was written" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".broken*"))


def test_a_bfloat16_merge_passes_the_check(chain: Chain, tmp_path: Path) -> None:
    from tailor.tui.cli import cli

    out = tmp_path / "bf16"
    result = CliRunner().invoke(cli, ["-w", str(chain.ws.root), "export", chain.dpo.run_id, "--merge", "--dtype", "bfloat16", str(out)])
    assert result.exit_code == 0, result.output
    assert "checked: the merged model reproduces the run" in result.stderr and "bfloat16" in result.stderr
    assert "warning" not in result.stderr


_EXPORTS: dict[str, Path] = {}


def _export(chain: Chain, run: RunDir, name: str) -> Path:
    """``tailor export RUN --merge`` once per run (shared by the tests that read the result)."""
    from tailor.tui.cli import cli

    if name not in _EXPORTS:
        out = chain.ws.root / "exports" / name
        result = CliRunner().invoke(cli, ["-w", str(chain.ws.root), "export", run.run_id, "--merge", str(out)])
        assert result.exit_code == 0, result.output
        assert "checked: the merged model reproduces the run" in result.stderr
        _EXPORTS[name] = out
    return _EXPORTS[name]
