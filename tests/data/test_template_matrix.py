"""Assistant-only loss on real chat templates nobody here wrote: llama.cpp's ~70 templates × five
conversations (tests/data/template_matrix.py); every cell is ✓ or a refusal with its reason, and the table
in docs/datasets.md is the one this run computes."""

from __future__ import annotations

import pytest
from template_matrix import CASES, DOC, matrix, replace_table, table


@pytest.fixture(scope="module")
def result():
    from tests.outputs.llama_sdist import llama_cpp_sdist

    try:
        sdist = llama_cpp_sdist()  # pip download once per machine, cached with the other test downloads
    except Exception as exc:  # no network and no cached copy
        pytest.skip(f"no llama-cpp-python sdist: {exc}")
    return matrix(sdist)


def test_every_template_trains_exactly_the_assistant_turns_or_refuses(result):
    assert len(result) >= 60
    bad = {(name, case): v for name, row in result.items() for case, v in row.items()
           if v != "✓" and not (v.startswith("refused: ") and len(v) > len("refused: "))}
    assert not bad, bad
    ok = [name for name, row in result.items() if row["multi-turn"] == "✓"]
    # Llama 3.x, Qwen2.5, Mistral Small, SmolLM3 among the templates TRL cannot mask without markers
    for name in ("meta-llama-Llama-3.1-8B-Instruct", "Qwen-Qwen2.5-7B-Instruct", "HuggingFaceTB-SmolLM3-3B",
                 "Mistral-Small-3.2-24B-Instruct-2506"):
        assert name in ok
    assert len(ok) >= 40
    assert set(next(iter(result.values()))) == set(CASES)


def test_the_table_in_the_docs_is_up_to_date(result):
    doc = DOC.read_text(encoding="utf-8")
    assert replace_table(doc, table(result)) == doc, "run: python tests/data/template_matrix.py"
