"""The eval recipe schema and the `evaluate:` block of training recipes: defaults, shorthands, one-line errors."""

from __future__ import annotations

import pytest

from tailor.engine.errors import RecipeError
from tailor.engine.recipes.load import load_recipe, parse_recipe


def _error(text: str) -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, source="r.yaml", check_files=False)
    return str(info.value)


def test_packaged_demo_eval_recipe_loads_in_a_fresh_workspace(workspace) -> None:
    recipe = load_recipe(workspace.recipes_dir / "demo-eval.yaml")
    assert recipe.kind == "eval" and recipe.runs == ["latest:demo-sft"]
    assert recipe.data[0].path == str(workspace.data_dir / "reverse" / "eval.jsonl")
    assert recipe.few_shot.k == 3 and recipe.task == "auto" and recipe.generation.max_new_tokens == 8


def test_shorthands_and_defaults() -> None:
    r = parse_recipe(
        "kind: eval\ndata: held.jsonl\nruns: abc\nfew_shot: 5\njudge: org/judge\n", check_files=False
    )
    assert [d.path for d in r.data] == ["held.jsonl"] and r.runs == ["abc"]
    assert r.few_shot.k == 5 and r.few_shot.seed == 42 and r.few_shot.source is None
    assert r.judge.model.name_or_path == "org/judge"
    assert r.model.name_or_path == "tailor/tiny" and r.zero_shot
    assert (r.generation.batch_size, r.generation.greedy, r.generation.max_new_tokens) == (16, True, 64)
    assert r.metrics is None and r.max_examples is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: eval\n", "r.yaml: data: give the held-out set (data: FILE), or list runs: to use the first run's held-out rows"),
        ("kind: eval\ndata: x.jsonl\nmetrics: [bleu, acuracy]\n", "r.yaml:3: metrics: unknown metric 'acuracy'; did you mean 'accuracy'?"),
        ("kind: eval\ndata: x.jsonl\ntask: generation\nmetrics: [bleu, f1]\n", "r.yaml:4: metrics: f1 does not apply to task 'generation'"),
        ("kind: eval\ndata: x.jsonl\nmetrics: [win_rate]\n", "r.yaml:3: metrics: win_rate needs a judge model: set judge: {model: ...}"),
        ("kind: eval\ndata: x.jsonl\ngeneration:\n  batch_size: 0\n", "r.yaml:4: generation.batch_size: Input should be greater than 0 (got 0)"),
        ("kind: eval\ndata: x.jsonl\ngeneration: {batchsize: 4}\n", "r.yaml:3: generation.batchsize: unknown key; did you mean 'batch_size'?"),
        ("kind: eval\ndata: x.jsonl\nzero_shot: false\nfew_shot: 0\n", "r.yaml: nothing to evaluate: keep zero_shot / few_shot or list runs, adapters or trials"),
        ("kind: eval\ndata: x.jsonl\nlabels: [pos]\n", "r.yaml:3: labels: list at least two distinct labels"),
        ("kind: eval\ndata: x.jsonl\nlabels: [yes, no]\n", "r.yaml:3: labels: quote labels such as 'yes' / 'no' / 'true': unquoted, YAML reads them as booleans"),
        ("kind: eval\ndata: x.jsonl\njudge: {model: m, template: 'A or B?'}\n", "r.yaml:3: judge.template: the template must contain {prompt}, {a}, {b}"),
        ("kind: eval\ndata: x.jsonl\nruns: ['']\n", "r.yaml:3: runs: entries must not be empty"),
    ],
)
def test_eval_recipe_errors_are_one_line_with_file_and_line(text: str, expected: str) -> None:
    assert _error(text) == expected


SFT = "kind: sft\ndata:\n  train: train.jsonl\n  eval: eval.jsonl\nevaluate:\n"


def test_training_recipe_evaluate_block_is_validated() -> None:
    r = parse_recipe(SFT + "  max_examples: 50\n  few_shot: {k: 2}\n", check_files=False)
    assert r.evaluate == {"max_examples": 50, "few_shot": {"k": 2}}
    assert _error(SFT + "  few_shot: {k: 2}\n  generation:\n    batch_siz: 4\n") == (
        "r.yaml:8: evaluate.generation.batch_siz: unknown key; did you mean 'batch_size'?"
    )
    assert _error(SFT + "  task: label\n  metrics: [bleu]\n") == "r.yaml:7: evaluate.metrics: bleu does not apply to task 'label'"
    assert _error(SFT + "  max_examples: -3\n") == "r.yaml:6: evaluate.max_examples: Input should be greater than 0 (got -3)"
    assert _error(SFT + "  runs: [abc]\n").startswith("r.yaml:6: evaluate.runs: unknown key; expected one of: ")
