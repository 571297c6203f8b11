"""Whole-file shapes, mixed layouts, row numbers, skipping bad rows, tokenizer fit, dataset_info.json and
compressed files, on the real samples in ../shared/data, plus the data check's verdict on every file."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
from click.testing import CliRunner

from tailor.engine.data.browse import open_rows
from tailor.engine.data.prepare import load_training_data
from tailor.engine.data.quality import add_token_lengths, scan
from tailor.engine.data.render import LossPlan
from tailor.engine.data.report import verdict
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSpec
from tailor.tui.cli import cli


def _train(path, task="sft", **src):
    return load_training_data(DataSpec(train=[{"path": str(path), **src}]), task=task, seed=0)[0]


def _report(path, tok=None, **kw):
    src = open_rows(str(path))
    src.wait()
    report = scan(src.iter_records(), str(path), **kw)
    src.close()
    if tok is not None:
        add_token_lengths(report, tok, name="tailor/tiny", plan=LossPlan(max_length=1024))
    return report


@pytest.fixture(scope="module")
def tok():
    from tailor.engine.models.loading import load_tokenizer
    from tailor.engine.recipes.common import ModelSpec

    return load_tokenizer(ModelSpec(name_or_path="tailor/tiny"))


# -- 6. whole-file shapes ---------------------------------------------------------------------------------
def test_one_conversation_object_is_one_row(shared_data, tmp_path):
    # Axolotl's conversation.json shape: one ShareGPT conversation, the turns taken from a real glaive row
    glaive = json.loads((shared_data / "llamafactory/glaive_toolcall_en_demo.json").read_text())
    turns = [t for t in glaive[0]["conversations"] if t["from"] in ("human", "gpt")][:2]
    one = tmp_path / "conversation.json"
    one.write_text(json.dumps({"conversations": turns}, indent=2))
    for fmt in ("auto", "sharegpt"):  # detected, and the format: override works too
        train = _train(one, format=fmt)
        assert len(train) == 1
        assert [m["content"] for m in train[0]["messages"]] == [t["value"] for t in turns]
    msgs = tmp_path / "messages.json"
    msgs.write_text(
        json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})
    )
    assert len(_train(msgs)) == 1


def test_rows_that_mix_layouts_say_which_rows_are_which(shared_data, tmp_path):
    alpaca = json.loads((shared_data / "llamafactory/alpaca_en_demo.json").read_text())[:2]
    pair = json.loads((shared_data / "llamafactory/dpo_en_demo.json").read_text())[0]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*alpaca, pair]))
    with pytest.raises(
        DataError, match=r"mixed.jsonl: the rows mix layouts \(rows 1–2 alpaca, row 3 preference\)"
    ) as err:
        _train(path)
    assert "kind: dpo" not in str(err.value)
    assert _report(path).mixed == "rows 1–2 alpaca, row 3 preference"


# -- 7. row numbers are row numbers -------------------------------------------------------------------------
def test_json_arrays_report_row_indices(shared_data, tmp_path):
    path = shared_data / "llamafactory/alpaca_en_demo.json"
    src = open_rows(str(path))
    src.wait()
    assert len(src) == 999
    assert [r.loc.row for r in src.records(0, 3)] == [1, 2, 3] and src.record(998).loc.row == 999
    assert all(r.loc.line is None for r in src.records(0, 5))  # the browser's row column shows loc.row
    src.close()
    report = _report(path)
    assert all(a.row <= 999 and b.row <= 999 for a, b in report.exact_dups)
    assert report.exact_dups[0][0].short == "alpaca_en_demo.json row 276"
    one_line = tmp_path / "minified.json"  # positions inside a one-line file are row indices too
    rows = json.loads(path.read_text())[:5]
    one_line.write_text(json.dumps(rows + [rows[1]]))
    report = _report(one_line)
    assert [(a.short, b.short) for a, b in report.exact_dups] == [
        ("minified.json row 6", "minified.json row 2")
    ]


# -- 8. skipping bad rows (and the default stays strict) -----------------------------------------------------
def test_on_invalid_skip_reports_what_it_left_out(shared_data):
    notes = []
    spec = DataSpec(train=[str(shared_data / "hh-rlhf/harmless-base-test.jsonl.gz")], on_invalid="skip")
    train, _ = load_training_data(
        spec, task="preference", seed=0, log=lambda t, level="info": notes.append(level + " " + t)
    )
    assert len(train) == 2308
    assert notes[0].startswith("warning ") and "skipped 4 invalid rows" in notes[0]
    assert ":87:" in notes[0] and ":517:" in notes[0] and ":926:" in notes[0]
    assert DataSpec(train=["x.jsonl"]).on_invalid == "error"


# -- 9. the tokenizer fits the text -------------------------------------------------------------------------
def test_unknown_tokens_and_long_rows_are_reported(shared_data, tok):
    report = _report(shared_data / "llamafactory/identity.json", tok)  # half its rows are Chinese
    text = verdict(report)
    assert (
        text.startswith("ok (trains completion), with warnings: ") and "of tokens are unknown to tailor/tiny's tokenizer" in text
    )
    long = _report(shared_data / "llamafactory/v1/v1_dpo_demo.jsonl", tok)
    assert long.lengths.over and long.lengths.longest_at is not None
    assert (
        f"rows exceed max_length 1024 after the chat template and will be truncated (longest: "
        f"{long.lengths.longest_at.short}, {long.lengths.longest} tokens)" in verdict(long)
    )


# -- 10. LLaMA-Factory's dataset_info.json ------------------------------------------------------------------
@pytest.fixture
def registry(shared_data, tmp_path):
    """The shared dataset_info.json beside links to the demo files it names (as in LLaMA-Factory's data/)."""
    shutil.copy(shared_data / "llamafactory/v1/dataset_info.json", tmp_path / "dataset_info.json")
    for f in (shared_data / "llamafactory").glob("*.json*"):
        (tmp_path / f.name).symlink_to(f)
    return tmp_path / "dataset_info.json"


def test_registry_lists_and_maps_entries(registry):
    out = CliRunner().invoke(cli, ["data", "show", str(registry)]).output
    assert "LLaMA-Factory registry, 104 datasets" in out
    assert "mllm_demo" in out and "unsupported: multimodal (images); Tailor trains text-only models" in out
    assert "unsupported: hub-only; use path: hf://datasets/llamafactory/alpaca_en in the recipe" in out
    pairs = _train(f"{registry}#dpo_en_demo", task="preference", max_rows=2)  # sharegpt + ranking
    assert pairs[0]["chosen"][0]["role"] == "assistant" and pairs[0]["prompt"][-1]["role"] == "user"
    kto = _train(f"{registry}#kto_en_demo", task="unpaired_preference", max_rows=2)  # tags + kto_tag
    assert isinstance(kto[0]["label"], bool) and kto[0]["completion"][0]["role"] == "assistant"
    text = _train(f"{registry}#c4_demo", max_rows=2)  # columns {prompt: text}: plain text
    assert set(text.column_names) == {"text"}
    glaive = _train(f"{registry}#glaive_toolcall_en_demo", max_rows=2)  # columns messages/tools
    assert "tools" in glaive.column_names
    with pytest.raises(DataError, match=r"#mllm_demo: multimodal \(images\)"):
        _train(f"{registry}#mllm_demo")
    checked = CliRunner().invoke(cli, ["data", "check", "--no-tokens", f"{registry}#identity"])
    assert checked.exit_code == 0 and "verdict" in checked.output and "91" in checked.output


# -- 11. compressed files -----------------------------------------------------------------------------------
def test_gzipped_jsonl_browses_lazily_and_trains(shared_data):
    path = shared_data / "hh-rlhf/harmless-base-test.jsonl.gz"
    src = open_rows(str(path))
    src.index.wait(10, timeout=5)
    first = src.record(0)
    assert first.loc.line == 1 and first.data["chosen"].startswith(
        "\n\nHuman: what are some pranks with a pen"
    )
    src.wait()
    assert len(src) == 2312 and src.error is None
    assert src.search("pranks with a pen", 5, backwards=True) == 0
    src.close()


def test_json_gz_and_jsonl_zst(shared_data, tmp_path):
    import zstandard

    alpaca = shared_data / "llamafactory/alpaca_en_demo.json"
    gz = tmp_path / "alpaca_en_demo.json.gz"
    gz.write_bytes(gzip.compress(alpaca.read_bytes()))
    train = _train(gz, max_rows=3)
    assert train[0]["completion"][0]["content"] == json.loads(alpaca.read_text())[0]["output"]
    browsed = open_rows(str(gz))
    browsed.wait()
    assert len(browsed) == 999 and browsed.record(998).loc.row == 999
    c4 = shared_data / "llamafactory/c4_demo.jsonl"
    zst = tmp_path / "c4_demo.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(c4.read_bytes()))
    src = open_rows(str(zst))
    src.wait()
    assert len(src) == 300 and src.record(299).data == json.loads(c4.read_text().splitlines()[299])
    src.close()
    assert _report(zst).rows == 300
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(c4.read_bytes())[:5000])
    result = CliRunner().invoke(cli, ["data", "check", "--no-tokens", str(broken)])
    assert result.exit_code == 2 and "broken.jsonl.gz: not a readable gzip file" in result.output


# -- the verdict of `tailor data check` on every shared file -------------------------------------------------
VERDICTS = {
    "hh-rlhf/harmless-base-test.jsonl.gz": ("preference", 2312, "refused: 4 rows unfit for training, first "),
    "llamafactory/alpaca_en_demo.json": ("alpaca", 999, "ok"),
    "llamafactory/c4_demo.jsonl": ("text", 300, "ok"),
    "llamafactory/dpo_en_demo.json": ("preference", 300, "ok"),
    "llamafactory/glaive_toolcall_en_demo.json": ("sharegpt", 300, "refused: "),
    "llamafactory/identity.json": ("alpaca", 91, "ok (trains completion), with warnings"),
    "llamafactory/kto_en_demo.json": ("unpaired_preference", 300, "ok"),
    "llamafactory/v1/mllm_audio_demo.json": (
        "messages",
        3,
        "refused: this dataset is multimodal (audios at row 1)",
    ),
    "llamafactory/v1/mllm_demo.json": (
        "messages",
        6,
        "refused: this dataset is multimodal (images at row 1)",
    ),
    "llamafactory/v1/reason_tool_use_demo_50.jsonl": ("messages", 50, "refused: "),
    "llamafactory/v1/v1_dpo_demo.jsonl": ("preference", 10, "ok"),
    "llamafactory/v1/v1_sft_demo.jsonl": ("messages", 500, "ok"),
}
NEEDS_TOKENIZER = {"glaive_toolcall_en_demo.json", "reason_tool_use_demo_50.jsonl", "identity.json"}


def test_every_shared_file_has_a_verdict(shared_data, tok):
    files = sorted(
        str(p.relative_to(shared_data))
        for p in shared_data.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert set(files) == {*VERDICTS, "llamafactory/v1/dataset_info.json"}
    for name, (layout, rows, start) in VERDICTS.items():
        path = shared_data / name
        report = _report(path, tok if path.name in NEEDS_TOKENIZER else None)
        assert (report.format, report.rows) == (layout, rows), name
        assert verdict(report).startswith(start), (name, verdict(report))
        if "template" in start or path.name in (
            "glaive_toolcall_en_demo.json",
            "reason_tool_use_demo_50.jsonl",
        ):
            assert "the chat template of tailor/tiny does not render the tool schemas" in verdict(report)


def test_a_recipe_names_a_registry_entry(registry, tmp_path):
    from tailor.engine.recipes.load import parse_recipe

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    text = "kind: sft\nmodel: {name_or_path: tailor/tiny}\ndata:\n  train: ../dataset_info.json#identity\n"
    recipe = parse_recipe(text, source=str(recipes / "r.yaml"), base_dir=recipes)
    assert recipe.data.train[0].path == f"{registry}#identity"
    train = load_training_data(recipe.data, task="sft", seed=0)[0]
    assert len(train) == 91 and train[0]["completion"][0]["content"].startswith("Hello! I am {{name}}")
