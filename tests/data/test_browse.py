"""The lazy line index and the browsing operations (sort, search, frequency) on generated files."""

from __future__ import annotations

import json
import re

from data_helpers import write_jsonl

from tailor.engine.data import lineindex
from tailor.engine.data.browse import LineSource, open_rows
from tailor.engine.data.lineindex import LineIndex
from tailor.engine.data.view import RowView, cell_text, frequency


def test_index_grows_with_progress_and_reads_any_row(tmp_path, monkeypatch):
    monkeypatch.setattr(lineindex, "CHUNK", 64 * 1024)  # many chunks on a small file
    monkeypatch.setattr(lineindex, "FIRST_CHUNK", 4 * 1024)
    rows = [{"id": i, "text": f"row {i} " + "x" * (i % 50)} for i in range(20000)]
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    index = LineIndex(path)
    seen = []
    index.start()
    while not index.wait(timeout=0.001):
        seen.append((len(index), index.progress))
    assert len(index) == 20000 and index.progress == 1.0
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)  # only ever grows
    assert json.loads(index.raw(12345)) == rows[12345]
    assert index.line_number(19999) == 20000
    assert [(n, json.loads(b)) for n, b in index.rows_block(100, 103)] == [(101 + k, r) for k, r in enumerate(rows[100:103])]
    index.close()


def test_blank_lines_crlf_and_no_final_newline(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\r\n   \n{"a": 2}\r\n{"a": 3}')
    src = open_rows(str(path))
    src.wait()
    assert [r.data for r in src.records(0, 10)] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert [r.loc.line for r in src.records(0, 10)] == [1, 4, 5]
    assert [r.data for r in src.iter_records()] == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_search_forward_backward_and_non_ascii(tmp_path):
    rows = [{"id": i, "text": "plain"} for i in range(1000)]
    rows[10]["text"] = "Needle"
    rows[700]["text"] = "needle here"
    rows[800]["text"] = "café"
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    path.write_text(path.read_text().replace("café", "caf\\u00e9"))  # JSON escapes non-ASCII
    src = open_rows(str(path))
    src.wait()
    assert src.search("needle", -1) == 10  # case-insensitive
    assert src.search("needle", 10) == 700
    assert src.search("needle", 700) is None
    assert src.search("needle", 700, backwards=True) == 10
    assert src.search("café", 0) == 800
    view = RowView(src)
    assert view.search("needle", 700) == 10  # wraps around


def test_sort_numbers_text_and_missing_values(tmp_path):
    rows = [{"n": 3, "s": "b"}, {"n": 1, "s": "C"}, {"s": "a"}, {"n": 2}, {"n": 10, "s": "a2"}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    src = open_rows(str(path))
    view = RowView(src)
    view.sort("n")
    assert [r.data.get("n") for _, r in view.records(0, 5)] == [1, 2, 3, 10, None]
    view.sort("n", descending=True)
    assert [r.data.get("n") for _, r in view.records(0, 5)] == [10, 3, 2, 1, None]
    view.sort("s")
    assert [r.data.get("s") for _, r in view.records(0, 5)] == ["a", "a2", "b", "C", None]
    assert view.sorted_by == ("s", False)
    view.unsort()
    assert [r.data for _, r in view.records(0, 5)] == rows


def test_frequency(tmp_path):
    rows = [{"label": i % 3 == 0, "tag": ["x", "y"][i % 2]} for i in range(30)] + [{"other": 1}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    freq = frequency(open_rows(str(path)), "label")
    assert freq.total == 31 and freq.missing == 1 and freq.distinct == 2
    assert dict(freq.counts) == {"false": 20, "true": 10}


def test_cell_text():
    assert (
        cell_text([{"role": "user", "content": "hi\nthere"}, {"role": "assistant", "content": "x"}])
        == "[2] user: hi there"
    )
    assert cell_text({"from": "gpt", "value": "ok"}) == "gpt: ok"
    assert cell_text("x" * 100, 10) == "x" * 9 + "…"
    assert cell_text(None) == "∅"


def test_first_page_before_indexing_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(lineindex, "CHUNK", 16 * 1024)
    monkeypatch.setattr(lineindex, "FIRST_CHUNK", 1024)
    path = write_jsonl(tmp_path / "d.jsonl", [{"i": i} for i in range(50000)])
    src = LineSource(path, "jsonl").start()
    assert src.wait_rows(20, timeout=5)
    assert [r.data["i"] for r in src.records(0, 20)] == list(range(20))
    src.wait()
    assert len(src) == 50000 and src.record(45000).data == {"i": 45000}
    pattern = re.compile(rb'"i": 49999\b')
    assert src.index.find(pattern, 0) == 49999
    src.close()


def _reference_rows(data: bytes) -> list[tuple[int, int, bytes]]:
    """(start offset, line number, bytes) of every row, the slow and obvious way."""
    out, pos = [], 3 if data.startswith(b"\xef\xbb\xbf") else 0
    for n, line in enumerate(data[pos:].split(b"\n"), start=1):
        if lineindex.is_row(line):
            out.append((pos, n, line.rstrip(b"\r")))
        pos += len(line) + 1
    return out


def test_sparse_index_matches_a_plain_reading(tmp_path, monkeypatch):
    import random

    monkeypatch.setattr(lineindex, "CHUNK", 4096)  # lines and checkpoint spans straddle every read
    monkeypatch.setattr(lineindex, "FIRST_CHUNK", 700)
    monkeypatch.setattr(lineindex, "SPAN", 512)
    monkeypatch.setattr(lineindex, "STRIDE", 5)
    rng = random.Random(7)
    shapes = [b"", b"\r", b"  ", b" \t\r", b"x", b"{}", b"         ", b"needle"]
    for case in range(4):
        lines = []
        for i in range(3000):
            pick = rng.random()
            if pick < 0.15:
                lines.append(rng.choice(shapes))
            elif pick < 0.2:
                lines.append(b"w" * rng.randint(400, 3000) + b"\r")  # longer than a span
            else:
                lines.append(b'{"i": %d, "t": "%s"}' % (i, b"y" * rng.randint(0, 60)))
        data = (b"\xef\xbb\xbf" if case % 2 else b"") + b"\n".join(lines) + (b"\n" if case < 2 else b"")
        path = tmp_path / f"d{case}.jsonl"
        path.write_bytes(data)
        ref = _reference_rows(data)
        index = LineIndex(path).start()
        while not index.done:  # rows read while the index grows are already right (the newest above all)
            if n := len(index):
                assert (index.line_number(n - 1), index.raw(n - 1)) == (ref[n - 1][1], ref[n - 1][2])
        assert len(index) == len(ref)
        for row in [*range(0, len(ref), 7), len(ref) - 1]:
            assert (index.line_number(row), index.raw(row)) == (ref[row][1], ref[row][2]), (case, row)
            assert index.row_at_offset(ref[row][0] + 1) == row
        assert index.rows_block(10, 400) == [(n, b) for _, n, b in ref[10:400]]
        assert index.rows_block(len(ref) - 3, len(ref) + 5) == [(n, b) for _, n, b in ref[-3:]]
        needles = [k for k, (_, _, b) in enumerate(ref) if b == b"needle"]
        pattern = re.compile(b"needle")
        assert index.find(pattern, -1) == needles[0]
        assert index.find(pattern, needles[0]) == needles[1]
        assert index.find(pattern, needles[-1], backwards=True) == needles[-2]
        index.close()
