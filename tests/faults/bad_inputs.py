"""The catalogue of bad inputs the CLI must refuse: one clear line, exit 2, no traceback, nothing written.

Shared by tests/faults/test_bad_input.py and bench/faults.py (which prints the counts). Each case
writes its files into a scratch folder, runs the real ``tailor`` CLI on a real workspace, and is
classified: ``clear`` (exit 2, the expected words, no traceback), ``traceback``, ``silent`` (exit 0:
accepted), ``corruption`` (the workspace changed) or ``unclear`` (refused, but not as asked).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SFT = """kind: sft
model: {name_or_path: tailor/tiny, dtype: float32}
data: {train: ../data/reverse/train.jsonl}
"""
BOMB = "".join(
    f"{a}: &{a} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['x'] * 9)}]\n"
    for p, a in zip([None, "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
) + SFT
ROW = {"prompt": "p", "completion": "c"}


@dataclass
class Case:
    name: str
    args: list[str]
    expect: str  # words the one-line message must hold
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)


CASES: list[Case] = [
    # recipes (item 16-18 and the usual suspects)
    Case("recipe alias bomb", ["run", "r.yaml"], "expands to more than", {"r.yaml": BOMB}),
    Case("recipe duplicate train block", ["run", "r.yaml"], "duplicate key 'train'",
         {"r.yaml": SFT + "train: {max_steps: 3}\ntrain: {max_steps: 5}\n"}),
    Case("recipe duplicate nested key", ["run", "r.yaml"], "duplicate key 'name_or_path'",
         {"r.yaml": SFT.replace("dtype: float32", "name_or_path: x")}),
    Case("recipe max_steps -5", ["run", "r.yaml"], "max_steps", {"r.yaml": SFT + "train: {max_steps: -5}\n"}),
    Case("recipe max_steps 0", ["run", "r.yaml"], "max_steps", {"r.yaml": SFT + "train: {max_steps: 0}\n"}),
    Case("recipe nested too deep", ["run", "r.yaml"], "nested too deep", {"r.yaml": "kind: sft\nx: " + "[" * 50000}),
    Case("recipe is a list", ["run", "r.yaml"], "must be a YAML mapping", {"r.yaml": "- a\n- b\n"}),
    Case("recipe unknown kind", ["run", "r.yaml"], "unknown kind", {"r.yaml": "kind: stf\n"}),
    Case("recipe tab indent", ["run", "r.yaml"], "invalid YAML", {"r.yaml": "kind: sft\n\tmodel: x\n"}),
    Case("recipe binary", ["run", "r.yaml"], "r.yaml", {"r.yaml": bytes(range(256))}),
    Case("recipe empty", ["run", "r.yaml"], "mapping", {"r.yaml": ""}),
    Case("recipe missing data file", ["run", "r.yaml"], "no such dataset file",
         {"r.yaml": SFT.replace("reverse/train.jsonl", "nope.jsonl")}),
    Case("recipe lora r -1", ["run", "r.yaml"], "lora.r", {"r.yaml": SFT + "lora: {r: -1}\n"}),
    Case("recipe learning_rate text", ["run", "r.yaml"], "learning_rate",
         {"r.yaml": SFT + "train: {learning_rate: abc}\n"}),
    Case("recipe misspelt block", ["run", "r.yaml"], "trian", {"r.yaml": SFT + "trian: {max_steps: 3}\n"}),
    Case("recipe missing file", ["run", "missing.yaml"], "no such recipe file"),
    # data convert / check (item 20)
    Case("convert onto its input", ["data", "convert", "a.jsonl", "-o", "a.jsonl"], "input file",
         {"a.jsonl": json.dumps(ROW) + "\n"}),
    Case("convert deeply nested json", ["data", "convert", "deep.json"], "nested too deep", {"deep.json": "[" * 100000}),
    Case("convert minified bad element", ["data", "convert", "m.json"], "row 3: invalid JSON",
         {"m.json": json.dumps([ROW, ROW]).rstrip("]") + ", {\"prompt\": p}, " + json.dumps(ROW) + "]"}),
    Case("convert binary file", ["data", "convert", "b.jsonl"], "binary", {"b.jsonl": bytes(range(256)) * 20}),
    Case("convert symlink loop", ["data", "convert", "loop1"], "symbolic link loop",
         links={"loop1": "loop2", "loop2": "loop1"}),
    Case("convert dangling symlink", ["data", "convert", "dead"], "broken symbolic link", links={"dead": "nowhere"}),
    Case("convert bogus format", ["data", "convert", "a.jsonl", "--format", "bogus"], "'bogus' is not one of",
         {"a.jsonl": json.dumps(ROW) + "\n"}),
    Case("check negative max-length", ["data", "check", "a.jsonl", "--max-length", "-1"], "--max-length",
         {"a.jsonl": json.dumps(ROW) + "\n"}),
    Case("convert empty file", ["data", "convert", "e.jsonl"], "empty", {"e.jsonl": ""}),
    Case("convert utf-16", ["data", "convert", "u.jsonl"], "UTF-16", {"u.jsonl": (json.dumps(ROW) + "\n").encode("utf-16")}),
    Case("convert missing file", ["data", "convert", "nope.jsonl"], "no such file"),
    # runs and hosts (items 4, 12, 14, 21)
    Case("workspace that does not exist", ["-w", "/nonexistent/ws", "runs"], "tailor init"),
    Case("run id with a newline", ["logs", "abc\n"], "invalid run id"),
    Case("run id with a path", ["logs", "../x"], "invalid run id"),
    Case("resume unknown run", ["resume", "nope-1"], "nope-1"),
    Case("repair unknown run", ["runs", "--repair", "nope-1"], "nope-1"),
    Case("host env secret", ["hosts", "add", "box", "--hostname", "127.0.0.1", "--env", "HF_TOKEN=hf_secret"],
         "secret"),
    Case("host env bad name", ["hosts", "add", "box", "--hostname", "127.0.0.1", "--env", "A-B=1"],
         "not a valid environment variable name"),
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def try_case(case: Case, ws_root: Path, scratch: Path) -> tuple[str, str]:
    """Run one case; return (classification, stderr)."""
    scratch.mkdir(parents=True, exist_ok=True)
    for name, body in case.files.items():
        (scratch / name).write_bytes(body if isinstance(body, bytes) else body.encode())
    for name, target in case.links.items():
        (scratch / name).symlink_to(target)
    before, inputs = snapshot(ws_root), snapshot(scratch)
    args = case.args if case.args[0] == "-w" else ["-w", str(ws_root), *case.args]
    out = subprocess.run([sys.executable, "-m", "tailor", *args], capture_output=True, text=True, cwd=scratch,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    err = out.stderr
    if "Traceback" in err or "Traceback" in out.stdout:
        return "traceback", err
    after, after_inputs = snapshot(ws_root), snapshot(scratch)
    if after != before or after_inputs != inputs:
        changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
        changed += sorted(k for k in {*inputs, *after_inputs} if inputs.get(k) != after_inputs.get(k))
        return "corruption", f"changed: {changed[:5]}\n{err}"
    if out.returncode == 0:
        return "silent", err
    message = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("Usage:", "Try "))]
    if out.returncode == 2 and len(message) == 1 and case.expect.lower() in message[0].lower():
        return "clear", err
    return "unclear", err
