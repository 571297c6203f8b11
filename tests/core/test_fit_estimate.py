"""The fit estimate reads what training does: checkpointing as the worker applies it, real model shapes
(config.json, or the table of known architectures), and says when the shape is guessed."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tailor.engine.memory_estimate import GIB, checkpointing, estimate, estimate_recipe, model_shape
from tailor.engine.recipes.load import load_recipe, parse_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_8b_qlora_r16_seq2048_batch1_with_checkpointing_is_8_to_12_gb() -> None:
    shape = model_shape("meta-llama/Llama-3.1-8B-Instruct")
    assert shape is not None and not shape.guessed and shape.vocab == 128256
    assert 7.9e9 < shape.params < 8.1e9  # the published 8.03B
    fit = estimate(shape, model="llama", method="qlora", dtype="bfloat16", batch=1, seq=2048, gradient_checkpointing=True, lora_r=16)
    assert fit.total is not None and 8e9 <= fit.total <= 12e9, fit.describe()


def test_shipped_gpu_recipes_are_estimated_with_their_checkpointing() -> None:
    llama = estimate_recipe(load_recipe(RECIPES / "llama3.1-8b-qlora.yaml"))
    qwen = estimate_recipe(load_recipe(RECIPES / "qwen2.5-0.5b-lora.yaml"))
    assert llama.total is not None and llama.total / GIB < 14, llama.describe()
    assert qwen.total is not None and qwen.total / GIB < 9, qwen.describe()  # its header: ~8 GB
    assert "guessed" not in llama.describe() + qwen.describe()


@pytest.mark.parametrize(
    ("train", "expected"),
    [({}, True), ({"activation_checkpointing": False}, False), ({"gradient_checkpointing": False}, False),
     ({"gradient_checkpointing": True}, True)],
)
def test_checkpointing_is_read_under_both_names_and_on_by_default(train: dict, expected: bool) -> None:
    assert checkpointing(train) is expected


def test_turning_checkpointing_off_costs_memory() -> None:
    base = {"kind": "sft", "model": "Qwen/Qwen2.5-0.5B-Instruct", "data": {"train": "x.jsonl"},
            "train": {"per_device_train_batch_size": 8, "max_length": 2048}}
    on = estimate_recipe(parse_recipe(base, check_files=False))
    off = estimate_recipe(parse_recipe({**base, "train": {**base["train"], "activation_checkpointing": False}}, check_files=False))
    assert on.total is not None and off.total is not None and off.total > 2 * on.total


def test_a_shape_from_the_name_alone_says_guessed() -> None:
    fit = estimate(model_shape("someone/Mystery-7B"), model="someone/Mystery-7B", method="lora")
    assert "guessed from the size in its name '7B'" in fit.describe()


def test_a_gguf_file_uses_its_converted_config(tmp_path: Path) -> None:
    from tailor.engine.models.gguf import converted_dir

    gguf = tmp_path / "m.Q4.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    folder = converted_dir(gguf)
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 576, "num_hidden_layers": 30, "vocab_size": 49152, '
                                        '"intermediate_size": 1536, "num_attention_heads": 9, "num_key_value_heads": 3}')
    shape = model_shape(str(gguf))
    assert shape is not None and shape.vocab == 49152 and shape.source == str(folder / "config.json")


# -- where the shape comes from: the HF cache, the hub, or a guess that says why -----------------------------
# Each case runs in a fresh process, as a launch or the TUI does: huggingface_hub reads HF_HUB_CACHE,
# HF_ENDPOINT and HF_HUB_OFFLINE when it is imported.

LLAMA3_CONFIG = {  # meta-llama/Llama-3.1-8B's published config.json (the fields the estimate reads)
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "num_hidden_layers": 32,
    "vocab_size": 128256, "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
    "hidden_act": "silu", "tie_word_embeddings": False, "max_position_embeddings": 131072,
}
ESTIMATE = """
import json, sys, time
from tailor.engine.memory_estimate import estimate_recipe, find_shape
from tailor.engine.recipes.load import parse_recipe
model = sys.argv[1]
recipe = parse_recipe({"kind": "sft", "model": model, "method": "qlora", "data": {"train": "x.jsonl"},
                       "train": {"per_device_train_batch_size": 1, "max_length": 2048}}, check_files=False)
out = []
for _ in range(2):  # the second is answered from the process's memory
    start = time.monotonic()
    fit = estimate_recipe(recipe)
    shape = find_shape(model)[0]
    out.append({"seconds": time.monotonic() - start, "describe": fit.describe(), "line": fit.shape_line(),
                "guessed": fit.guessed, "vocab": shape and shape.vocab, "hidden": shape and shape.hidden,
                "trainable": fit.trainable, "total": fit.total})
print(json.dumps(out))
"""


def _clean_env() -> dict[str, str]:
    """The suite's environment without its HF_HUB_OFFLINE (and any other hub setting)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_OFFLINE"))}


def _estimate_in_a_fresh_process(model: str, **env: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", ESTIMATE, model], env={**_clean_env(), **env}, cwd=RECIPES.parent,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_config_in_the_hugging_face_cache_is_read_and_not_guessed(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "models--acme--Llama3ish-8B"  # the cache layout huggingface_hub writes
    (repo / "snapshots" / "0123abc").mkdir(parents=True)
    (repo / "snapshots" / "0123abc" / "config.json").write_text(json.dumps(LLAMA3_CONFIG))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    first, _ = _estimate_in_a_fresh_process("acme/Llama3ish-8B", HF_HUB_CACHE=str(tmp_path / "hub"), HF_HUB_OFFLINE="1")
    assert not first["guessed"] and "guessed" not in first["describe"]
    assert (first["vocab"], first["hidden"]) == (128256, 4096)
    assert first["line"].startswith("model shape: from the Hugging Face cache (") and "0123abc" in first["line"]
    assert first["trainable"] == 41_943_040  # exact, from the real config: r=16 on all linear layers of 32


def test_offline_an_unknown_id_is_guessed_and_says_offline() -> None:
    fit = estimate(model_shape("someone/Mystery-7B"), model="someone/Mystery-7B", method="lora")  # the suite is offline
    assert "guessed from the size in its name '7B': not cached, offline (HF_HUB_OFFLINE)" in fit.describe()
    unknown = estimate_recipe(parse_recipe({"kind": "sft", "model": "someone/Mystery", "data": {"train": "x.jsonl"}},
                                           check_files=False))
    assert unknown.total is None and "offline (HF_HUB_OFFLINE)" in unknown.describe()


def test_an_unreachable_hub_is_guessed_and_says_so_within_seconds() -> None:
    with socket.socket() as closed:  # a port nothing listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    first, again = _estimate_in_a_fresh_process("someone/Mystery-7B", HF_ENDPOINT=f"http://127.0.0.1:{port}")
    assert first["guessed"] and "not cached, hub unreachable (ConnectError)" in first["describe"]
    assert first["line"].startswith("model shape: guessed from the size in its name '7B'")
    assert first["seconds"] < 3 and again["seconds"] < 0.1  # asked once per process, no retries


def test_a_hub_that_does_not_answer_is_given_up_on_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        code = ("import tailor.engine.model_config as m, sys, time; m.HUB_TIMEOUT_S = 1.0; t = time.monotonic(); "
                "f = m.hub_config('someone/Mystery-7B'); print(f.source, round(time.monotonic() - t, 1))")
        out = subprocess.run([sys.executable, "-c", code], cwd=RECIPES.parent, capture_output=True, text=True,
                             timeout=30, check=True, env={**_clean_env(), "HF_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}"})
    source, seconds = out.stdout.strip().rsplit(" ", 1)
    assert source.startswith("hub unreachable") and float(seconds) < 2.5, out.stdout


def test_a_config_from_a_hub_endpoint_is_fetched_once_and_kept_in_the_cache(tmp_path: Path) -> None:
    """A local server answering as the hub does (HF_ENDPOINT): the real client fetches config.json."""
    body = json.dumps(LLAMA3_CONFIG).encode()
    asked: list[str] = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def _answer(self, with_body: bool) -> None:
            asked.append(f"{self.command} {self.path}")
            if self.path != "/acme/Llama3ish-8B/resolve/main/config.json":
                self.send_response(404)
                self.send_header("X-Error-Code", "RepoNotFound")
                self.end_headers()
                return
            self.send_response(200)
            for k, v in {"X-Repo-Commit": "0" * 40, "ETag": '"abc"', "Content-Length": str(len(body))}.items():
                self.send_header(k, v)
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self._answer(False)

        def do_GET(self) -> None:
            self._answer(True)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "HF_HUB_CACHE": str(tmp_path / "hub")}
        first, again = _estimate_in_a_fresh_process("acme/Llama3ish-8B", **env)
        missing, _ = _estimate_in_a_fresh_process("acme/Nothing-7B", **env)
    finally:
        server.shutdown()
    assert not first["guessed"] and (first["vocab"], first["hidden"]) == (128256, 4096)
    assert first["line"] == "model shape: from the hub (acme/Llama3ish-8B, now in the Hugging Face cache)"
    assert again["describe"] == first["describe"] and again["seconds"] < 0.1
    assert sum(a.startswith("GET /acme/Llama3ish") for a in asked) == 1  # once per process
    assert list((tmp_path / "hub").glob("models--acme--Llama3ish-8B/snapshots/*/config.json"))  # the next run reads it
    assert missing["guessed"] and "not on the hub" in missing["describe"]


def test_llama3_vocab_costs_markedly_more_than_the_32000_guess() -> None:
    """The real vocabulary (128256, an untied head) against the name guess's 32000: the 16-bit embeddings
    and head QLoRA keeps, and the wider tile of TRL's fused loss."""
    from tailor.engine.memory_estimate import ModelShape

    real = ModelShape.from_config(LLAMA3_CONFIG)
    guess = ModelShape.from_config({**LLAMA3_CONFIG, "vocab_size": 32000, "tie_word_embeddings": True})
    kw = {"model": "m", "method": "qlora", "dtype": "bfloat16", "batch": 1, "seq": 2048, "gradient_checkpointing": True}
    a, b = estimate(real, **kw), estimate(guess, **kw)  # type: ignore[arg-type]
    assert a.parts["weights"] - b.parts["weights"] > 1.5 * GIB  # (2 x 128256 - 32000) x 4096 x 2 bytes
    assert a.parts["activations"] > b.parts["activations"]
    assert a.total is not None and b.total is not None and a.total > b.total + 1.5 * GIB
