"""Metrics on non-Latin text: a wrong Chinese answer no longer scores ROUGE-L 1.00."""

from __future__ import annotations

import pytest

from tailor.engine.eval import metrics as M

REF = "北京是中国的首都。"


def test_a_wrong_chinese_answer_scores_low_and_a_right_one_high() -> None:
    wrong = "我不知道。"
    assert M.rouge_l(wrong, REF) == 0.0 and M.token_f1(wrong, REF) == 0.0
    assert M.rouge_l(REF, REF) == 1.0 and M.token_f1("北京是中国的首都", REF) == 1.0  # punctuation ignored
    partial = M.rouge_l("北京是首都", REF)
    assert 0.5 < partial < 1.0


def test_chinese_bleu_uses_the_zh_tokenizer_and_japanese_korean_char() -> None:
    assert M.bleu_tokenizer([REF]) == "zh"
    assert M.bleu_tokenizer(["東京はにほんの首都です"]) == "char"
    assert M.bleu_tokenizer(["서울은 한국의 수도입니다"]) == "char"
    assert M.bleu_tokenizer(["Paris is the capital"]) == "13a"
    assert M.corpus_bleu([REF], [REF]) == pytest.approx(100.0)
    assert M.corpus_bleu(["我不知道"], [REF]) < 5


def test_latin_text_scores_as_before() -> None:
    assert M.rouge_l("the cat sat", "the cat sat on the mat") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert M.token_f1("The Cat!", "cat") == 1.0
    assert M.words("Ünïcode wörds, 2 kinds") == ["ünïcode", "wörds", "2", "kinds"]
