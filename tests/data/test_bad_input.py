"""Bad input: a clear one-line message naming file and line; the browser still shows the good rows;
training refuses the dataset with the same message before it starts."""

from __future__ import annotations

import codecs
import json

import pytest
from data_helpers import write_jsonl

from tailor.engine.data.browse import open_rows
from tailor.engine.data.prepare import load_training_data, validate_training_data
from tailor.engine.data.quality import scan
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSpec

GOOD = [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(4)]


def browse(path):
    src = open_rows(str(path))
    src.wait()
    recs = src.records(0, 100)
    return [r.data for r in recs if r.ok], [f"{r.loc}: {r.error}" for r in recs if not r.ok]


def refuse(path, task="sft") -> str:
    with pytest.raises(DataError) as err:
        load_training_data(DataSpec(train=[str(path)]), task=task, seed=0)
    message = str(err.value)
    assert "\n" not in message
    with pytest.raises(DataError) as again:  # the check the worker runs first says the same
        validate_training_data(DataSpec(train=[str(path)]), task=task)
    assert str(again.value) == message
    return message


def test_malformed_line(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", GOOD, raw_lines={2: '{"prompt": "x", "completion": '})
    good, bad = browse(path)
    assert good == GOOD
    assert bad == [f"{path}:3: invalid JSON: Expecting value at column 31"]
    assert refuse(path) == bad[0]


def test_malformed_element_in_a_json_array(tmp_path):
    path = tmp_path / "d.json"
    text = json.dumps(GOOD, indent=1).replace('"p2"', "p2", 1)
    path.write_text(text)
    good, bad = browse(path)
    assert [r["prompt"] for r in good] == ["p0", "p1", "p3"]
    assert len(bad) == 1 and bad[0].startswith(f"{path} row 3: ") and "invalid JSON" in bad[0]  # row, not line
    assert refuse(path) == bad[0]


def test_wrong_encoding(tmp_path):
    path = tmp_path / "d.jsonl"
    lines = [json.dumps(r).encode() for r in GOOD]
    lines.insert(1, '{"prompt": "caf\u00e9", "completion": "x"}'.encode("latin-1"))
    path.write_bytes(b"\n".join(lines) + b"\n")
    good, bad = browse(path)
    assert good == GOOD
    assert bad == [f"{path}:2: not valid UTF-8 (byte 0xe9 at column 16); save the file as UTF-8"]
    assert refuse(path) == bad[0]


def test_utf16_file_is_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + "\n".join(json.dumps(r) for r in GOOD).encode("utf-16-le"))
    with pytest.raises(DataError, match=r"d.jsonl: the file is UTF-16/32 encoded; save it as UTF-8"):
        open_rows(str(path))
    refuse(path)


@pytest.mark.parametrize("ext", ["jsonl", "json", "csv"])
def test_bom_is_ignored(tmp_path, ext):
    path = tmp_path / f"d.{ext}"
    if ext == "jsonl":
        body = "\n".join(json.dumps(r) for r in GOOD)
    elif ext == "json":
        body = json.dumps(GOOD)
    else:
        body = "prompt,completion\n" + "\n".join(f"{r['prompt']},{r['completion']}" for r in GOOD)
    path.write_bytes(codecs.BOM_UTF8 + body.encode())
    assert browse(path) == (GOOD, [])
    train, _ = load_training_data(DataSpec(train=[str(path)]), task="sft", seed=0)
    assert train.to_list() == GOOD


def test_mixed_types_in_a_column(tmp_path):
    rows = [*GOOD, {"prompt": "p9", "completion": 42}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    good, bad = browse(path)
    assert good == rows and bad == []  # the browser shows every row as it is
    report = scan(open_rows(str(path)).iter_records(), str(path))
    assert dict(report.mixed_types["completion"]) == {"a string": 4, "a number": 1}
    assert (
        refuse(path) == f"{path}:5: field 'completion' must be a string or a list of messages, got a number"
    )


def test_missing_column(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [*GOOD[:2], {"prompt": "only"}, *GOOD[2:]])
    good, _ = browse(path)
    assert len(good) == 5
    report = scan(open_rows(str(path)).iter_records(), str(path))
    assert report.missing == {"completion": 1}
    assert refuse(path) == f"{path}:3: missing field 'completion'"


def test_missing_mapped_column(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"q": "a", "a": "b"}])
    spec = DataSpec(
        train=[{"path": str(path), "format": "prompt_completion", "columns": {"prompt": "question"}}]
    )
    with pytest.raises(DataError, match=r"d.jsonl:1: missing column 'question' \(mapped to 'prompt'"):
        load_training_data(spec, task="sft", seed=0)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "d.jsonl"
    path.write_bytes(content)
    if not content:
        with pytest.raises(DataError, match=r"d.jsonl: the file is empty \(0 bytes\)"):
            open_rows(str(path))
    else:
        assert browse(path) == ([], [])
    assert "d.jsonl" in refuse(path) and ("empty" in refuse(path) or "no rows" in refuse(path))


def test_folder_with_no_data(tmp_path):
    (tmp_path / "notes.pdf").write_text("x")
    with pytest.raises(DataError, match=r"the folder has no data files"):
        open_rows(str(tmp_path))
    assert "the folder has no data files" in refuse(tmp_path)


def test_unknown_columns_ask_for_format_and_columns(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"q": "a", "a": "b"}])
    assert "cannot tell the format from the columns (q, a); set format:" in refuse(path)


def test_many_bad_rows_are_summarised_in_one_line(tmp_path):
    rows = [{"prompt": "p", "completion": ""} for _ in range(6)]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    message = refuse(path)
    assert message.startswith(f"{path}:1: field 'completion'") or message.startswith(
        f"{path}:1: the completion is empty"
    )
    assert "(also d.jsonl:2, d.jsonl:3, d.jsonl:4 and 2 more; 6 rows in all)" in message


def test_csv_row_with_wrong_field_count(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("prompt,completion\na,b\nc,d,e\nf,g\n")
    good, bad = browse(path)
    assert good == [{"prompt": "a", "completion": "b"}, {"prompt": "f", "completion": "g"}]
    assert bad == [f"{path}:3: has 3 fields but the header has 2"]
    assert refuse(path) == bad[0]
