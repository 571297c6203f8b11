"""GGUF files as a model source: recognised by their magic bytes, named as a file or a folder plus
model.gguf_file, converted once into a folder beside the file (or the user cache when that is read-only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tailor.engine.errors import ModelError
from tailor.engine.models.gguf import converted_dir, gguf_source, is_current
from tailor.engine.models.loading import resolve_model_path


def _gguf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\0" * 32)
    return path


def test_a_file_or_a_folder_plus_gguf_file_names_the_gguf(tmp_path: Path) -> None:
    file = _gguf(tmp_path / "models" / "m.Q4_1.gguf")
    assert gguf_source(str(file)) == file.resolve()
    assert gguf_source(str(file.parent), "m.Q4_1.gguf") == file.resolve()
    blob = _gguf(tmp_path / "blobs" / "sha256-abc")  # Ollama's blobs have no suffix
    assert gguf_source(str(blob)) == blob.resolve()
    assert gguf_source(str(tmp_path)) is None  # a folder: not a GGUF source


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: (d / "notes.txt").write_text("hi") and (str(d / "notes.txt"), None), "is a file but not a GGUF file"),
        (lambda d: (str(d), "missing.gguf"), "model.gguf_file: "),
        (lambda d: (str(_gguf(d / "x.gguf")), "x.gguf"), "is not a folder"),
    ],
)
def test_bad_gguf_specs_are_one_line_errors(tmp_path: Path, setup, expected: str) -> None:
    name, gguf_file = setup(tmp_path)
    with pytest.raises(ModelError, match=expected):
        gguf_source(name, gguf_file)


def test_a_folder_holding_only_a_gguf_says_to_set_gguf_file(tmp_path: Path) -> None:
    _gguf(tmp_path / "m.gguf")
    with pytest.raises(ModelError, match=r"has no config.json but holds m.gguf; set model.gguf_file: m.gguf"):
        resolve_model_path(str(tmp_path))


def test_the_conversion_lives_beside_the_file_or_in_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _gguf(tmp_path / "ro" / "m.gguf")
    assert converted_dir(file) == file.parent / "m.tailor-hf"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    os.chmod(file.parent, 0o500)
    try:
        if os.access(file.parent, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert converted_dir(file).parent == tmp_path / "cache" / "tailor" / "gguf"
    finally:
        os.chmod(file.parent, 0o700)


def test_a_changed_file_is_converted_again(tmp_path: Path) -> None:
    import json

    file = _gguf(tmp_path / "m.gguf")
    folder = converted_dir(file)
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    st = file.stat()
    (folder / "tailor_gguf_source.json").write_text(json.dumps({"source": str(file), "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    assert is_current(folder, file)
    file.write_bytes(file.read_bytes() + b"\0")
    assert not is_current(folder, file)
