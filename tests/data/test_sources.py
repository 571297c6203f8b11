"""Every kind of source opens, for training (readers) and for browsing (row sources)."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_helpers import write_jsonl

from tailor.engine.data.browse import open_rows
from tailor.engine.data.prepare import read_source
from tailor.engine.data.sources import resolve, sibling_eval
from tailor.engine.errors import DataError
from tailor.engine.recipes.common import DataSource

ROWS = [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(5)]


def _all(path) -> list:
    src = open_rows(str(path))
    src.wait()
    return [r.data for r in src.records(0, 100)]


def _train(path, **kw) -> list:
    return read_source(DataSource(path=str(path), **kw), task="sft").rows


def test_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    assert _all(path) == ROWS
    assert _train(path) == ROWS


def test_json_array_and_json_lines_in_a_json_file_and_a_wrapped_list(tmp_path):
    arr = tmp_path / "a.json"
    arr.write_text(json.dumps(ROWS, indent=2))
    assert _all(arr) == ROWS and _train(arr) == ROWS
    lines = write_jsonl(tmp_path / "l.json", ROWS)
    assert _train(lines) == ROWS
    wrapped = tmp_path / "w.json"
    wrapped.write_text(json.dumps({"data": ROWS}))
    assert _train(wrapped) == ROWS


@pytest.mark.parametrize(("ext", "delim"), [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv(tmp_path, ext, delim):
    path = tmp_path / f"d.{ext}"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["prompt", "completion"], delimiter=delim)
        w.writeheader()
        w.writerows(ROWS)
        w.writerow({"prompt": "multi\nline", "completion": "x"})
    assert _all(path)[-1] == {"prompt": "multi\nline", "completion": "x"}
    assert _train(path)[:5] == ROWS


def test_parquet(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS * 300), path, row_group_size=100)
    src = open_rows(str(path))
    assert len(src) == 1500
    assert [r.data for r in src.records(98, 4)] == (ROWS * 300)[98:102]  # across row groups
    assert src.record(1499).loc.row == 1500
    assert _train(path)[:5] == ROWS


@pytest.mark.parametrize("stream", [False, True])
def test_arrow_ipc_file_and_stream(tmp_path, stream):
    table = pa.Table.from_pylist(ROWS)
    path = tmp_path / "d.arrow"
    with pa.OSFile(str(path), "wb") as sink:
        writer = pa.ipc.new_stream(sink, table.schema) if stream else pa.ipc.new_file(sink, table.schema)
        writer.write_table(table)
        writer.close()
    assert _all(path) == ROWS and _train(path) == ROWS


def test_save_to_disk_dataset_and_dataset_dict(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(ROWS)
    ds.save_to_disk(str(tmp_path / "one"))
    assert _all(tmp_path / "one") == ROWS and _train(tmp_path / "one") == ROWS
    datasets.DatasetDict({"train": ds, "test": ds.select([0])}).save_to_disk(str(tmp_path / "dict"))
    assert _all(tmp_path / "dict") == ROWS
    assert _train(tmp_path / "dict", split="test") == ROWS[:1]


def test_plain_text(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("first line\n\nsecond line\n")
    assert _all(path) == [{"text": "first line"}, {"text": "second line"}]
    src = open_rows(str(path))
    src.wait()
    assert src.record(1).loc.line == 3
    assert _train(path) == [{"text": "first line"}, {"text": "second line"}]


def test_glob_and_folder_with_splits(tmp_path):
    write_jsonl(tmp_path / "train-00.jsonl", ROWS[:2])
    write_jsonl(tmp_path / "train-01.jsonl", ROWS[2:])
    write_jsonl(tmp_path / "test.jsonl", ROWS[:1])
    assert _all(tmp_path / "train-*.jsonl") == ROWS
    assert _train(tmp_path / "train-*.jsonl") == ROWS
    assert [p.name for p in resolve(str(tmp_path)).files] == ["train-00.jsonl", "train-01.jsonl"]
    assert _train(tmp_path, split="test") == ROWS[:1]
    assert sibling_eval(str(tmp_path / "train-00.jsonl")) is None
    write_jsonl(tmp_path / "x_train.jsonl", ROWS)
    write_jsonl(tmp_path / "x_eval.jsonl", ROWS)
    assert sibling_eval(str(tmp_path / "x_train.jsonl")) == str(tmp_path / "x_eval.jsonl")


def test_several_files_at_once_in_the_cli(tmp_path):
    from click.testing import CliRunner

    from tailor.tui.cli import cli

    a = write_jsonl(tmp_path / "a.jsonl", ROWS[:2])
    b = write_jsonl(tmp_path / "b.jsonl", ROWS[2:])
    result = CliRunner().invoke(cli, ["data", "show", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == ROWS


def test_hub_id_offline_gives_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DataError, match="cannot reach the Hugging Face hub.*point path: at local files"):
        read_source(DataSource(path="nobody-here/no-such-dataset-xyz"), task="sft")
    with pytest.raises(DataError, match="cannot reach the Hugging Face hub"):
        open_rows("nobody-here/no-such-dataset-xyz")


def test_missing_path():
    with pytest.raises(DataError, match="no such file or folder"):
        resolve("/nonexistent/data.jsonl")
