"""The quality report and the headless `tailor data ls|show|check|convert`."""

from __future__ import annotations

import json

from click.testing import CliRunner
from data_helpers import write_jsonl

from tailor.engine.data.browse import open_rows
from tailor.engine.data.quality import add_overlap, add_token_lengths, scan
from tailor.engine.data.render import LossPlan
from tailor.tui.cli import cli

TEXT = "the quick brown fox jumps over the lazy dog near the river bank at dawn"


def report_of(path, **kw):
    src = open_rows(str(path))
    src.wait()
    return scan(src.iter_records(), str(path), **kw)


def test_report_counts_every_kind_of_problem(tmp_path):
    rows = [
        {"prompt": "a", "completion": TEXT},
        {"prompt": "a", "completion": TEXT},  # exact duplicate of line 1
        {"prompt": "a", "completion": TEXT + " today"},  # near duplicate
        {"prompt": "", "completion": "x"},  # empty field
        {"prompt": "b"},  # missing field
        {"prompt": "c", "completion": 3},  # mixed types
        {"prompt": "Hi {{name}}", "completion": "ok"},
    ]
    path = write_jsonl(tmp_path / "d.jsonl", rows, raw_lines={7: "{broken"})
    r = report_of(path)
    assert r.format == "prompt_completion" and r.rows == 8
    assert [str(p) for p in r.malformed] == [
        f"{path}:8: invalid JSON: Expecting property name enclosed in double quotes at column 2"
    ]
    assert [(a.line, b.line) for a, b in r.exact_dups] == [(2, 1)]
    assert [(a.line, b.line) for a, b in r.near_dups] == [(3, 1)]
    assert r.empty == {"prompt": 1}
    assert r.missing == {"completion": 1}
    assert set(r.mixed_types) == {"completion"}
    assert r.placeholders == {"{{name}}": 1}
    assert {p.loc.line for p in r.invalid} == {4, 5, 6}


def test_preference_chosen_equals_rejected_and_overlap(tmp_path):
    good = {"prompt": "p", "chosen": "a", "rejected": "b"}
    train = write_jsonl(
        tmp_path / "train.jsonl", [good, {"prompt": "q", "chosen": "same", "rejected": "same"}]
    )
    ev = write_jsonl(
        tmp_path / "eval.jsonl",
        [{"prompt": "p", "chosen": "z", "rejected": "y"}, {"prompt": "new", "chosen": "a", "rejected": "b"}],
    )
    r = report_of(train)
    assert [loc.line for loc in r.chosen_equals_rejected] == [2]
    add_overlap(r, report_of(ev, near=False))
    assert [loc.line for loc in r.overlap] == [1]  # same prompt in train and eval
    assert r.eval_rows == 2


def test_token_lengths_with_the_model_tokenizer(lf):
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec

    r = report_of(lf / "alpaca_en_demo.json")
    add_token_lengths(r, load_tokenizer(ModelSpec()), name="tailor/tiny", plan=LossPlan(max_length=256))
    lens = r.lengths
    assert len(lens.lengths) == 999 and not lens.sampled
    assert lens.percentile(50) <= lens.percentile(95) <= lens.longest
    assert len(lens.over) == sum(n > 256 for n in lens.lengths) > 0
    hist = lens.histogram(10)
    assert (
        sum(c for _, _, c in hist) == 999 and hist[0][0] == min(lens.lengths) and hist[-1][1] >= lens.longest
    )


def test_cli_check_json_and_text(lf, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        cli, ["data", "check", str(lf / "dpo_en_demo.json"), "--json", "--max-length", "512"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "preference" and report["rows"] == 300
    assert report["tokens"]["tokenizer"] == "tailor/tiny" and report["tokens"]["over_max_length"] > 0
    text = runner.invoke(cli, ["data", "check", str(lf / "identity.json"), "--no-tokens"])
    assert "template placeholders" in text.output and "{{name}}" in text.output
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "a"}], raw_lines={1: "{oops"})
    strict = runner.invoke(cli, ["data", "check", str(bad), "--no-tokens", "--strict"])
    assert strict.exit_code == 1 and "bad.jsonl:2: invalid JSON" in strict.output


def test_cli_convert_show_and_ls(lf, tmp_path, workspace):
    runner = CliRunner()
    out = tmp_path / "kto.jsonl"
    result = runner.invoke(
        cli, ["data", "convert", str(lf / "kto_en_demo.json"), "-t", "unpaired_preference", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 300 and set(rows[0]) == {"prompt", "completion", "label"}
    mapped = write_jsonl(tmp_path / "qa.jsonl", [{"q": "a", "a": "b"}])
    result = runner.invoke(
        cli,
        [
            "data",
            "convert",
            str(mapped),
            "--format",
            "prompt_completion",
            "-c",
            "prompt=q",
            "-c",
            "completion=a",
        ],
    )
    assert json.loads(result.output) == {"prompt": "a", "completion": "b"}
    refused = runner.invoke(cli, ["data", "convert", str(lf / "dpo_en_demo.json")])
    assert refused.exit_code == 2 and "not SFT data" in refused.output
    shown = runner.invoke(
        cli, ["-w", str(workspace.root), "data", "show", str(lf / "alpaca_en_demo.json"), "-n", "2"]
    )
    assert "999 rows, alpaca" in shown.output and "alpaca_en_demo.json row 2" in shown.output
    from tailor.engine.data.newrecipe import new_recipe

    new_recipe(workspace, str(lf / "dpo_en_demo.json"), "preference")
    listed = runner.invoke(cli, ["-w", str(workspace.root), "data", "ls", "--json"])
    assert listed.exit_code == 0
    entries = {e["path"]: e for e in map(json.loads, listed.output.splitlines())}
    assert entries[str(workspace.data_dir / "reverse" / "train.jsonl")]["origin"] == "workspace"
    assert entries[str(lf / "dpo_en_demo.json")]["origin"] == "recipe:dpo_en_demo-dpo"
    assert entries[str(lf / "alpaca_en_demo.json")]["origin"] == "recent"
    assert not any("README" in p for p in entries)


def test_new_recipe_from_a_dataset_loads(workspace, lf):
    from tailor.engine.data.newrecipe import new_recipe
    from tailor.engine.recipes.load import load_recipe

    for name, fmt, kind in [
        ("alpaca_en_demo.json", "alpaca", "sft"),
        ("dpo_en_demo.json", "preference", "dpo"),
        ("kto_en_demo.json", "unpaired_preference", "dpo"),
    ]:
        path = new_recipe(workspace, str(lf / name), fmt)
        recipe = load_recipe(path)
        assert recipe.kind == kind and recipe.data.train[0].path == str(lf / name)
        assert recipe.data.train[0].format == fmt and recipe.data.eval_split == 0.1
    assert (
        new_recipe(workspace, str(lf / "alpaca_en_demo.json"), "alpaca").name == "alpaca_en_demo-sft-2.yaml"
    )


def test_cli_check_reports_overlap_with_the_eval_file_beside_train(tmp_path):
    """As the Datasets screen's report (c): train.jsonl is checked against eval.jsonl beside it."""
    rows = [{"prompt": f"Reverse: w{i}", "completion": f"{i}w"} for i in range(6)]
    train = write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "eval.jsonl", [rows[2], {"prompt": "Reverse: new", "completion": "wen"}])
    out = CliRunner().invoke(cli, ["data", "check", str(train), "--no-tokens"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if "train/eval overlap" in x)
    assert "1 of 2 eval rows" in line and "eval.jsonl:1" in line
    report = json.loads(CliRunner().invoke(cli, ["data", "check", str(train), "--no-tokens", "--json"]).output)
    assert report["eval"]["overlap"] == 1
