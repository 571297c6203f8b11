"""The Playground and ``tailor chat`` against the real tiny model and a trained demo adapter.

The shared ``trained`` run (conftest) has learnt to reverse 4-letter words; the untrained base has not.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tui_helpers import make_app, wait_until

from tailor.engine.data.demo import answer, demo_words, prompt_text
from tailor.tui.cli import cli

pytestmark = pytest.mark.slow

WORD = demo_words()[1][0]  # a held-out word: never seen in training


def _chat(ws, *args: str):
    result = CliRunner().invoke(cli, ["-w", str(ws.root), "chat", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_chat_cli_fine_tune_beside_base_and_same_seed_same_text(trained) -> None:
    run = trained.run.run_id
    args = [run, "--against", "base", "-p", prompt_text(WORD), "--json", "--max-new-tokens", "8"]
    greedy = _chat(trained.workspace, *args)
    assert [a["model"] for a in greedy] == [run, "base (tailor/tiny)"]
    assert greedy[0]["text"] == answer(WORD)  # the fine-tune learnt the task
    assert greedy[1]["text"] != answer(WORD)  # the base did not
    assert greedy[0]["ttft_s"] > 0 and greedy[0]["tokens"] >= 1

    sampled = [run, "-p", prompt_text(WORD), "--json", "--temperature", "1.5", "--seed", "7", "--max-new-tokens", "12"]
    first, again = _chat(trained.workspace, *sampled), _chat(trained.workspace, *sampled)
    assert first[0]["text"] == again[0]["text"]  # the same seed gives the same text


def test_chat_cli_bad_input(trained) -> None:
    result = CliRunner().invoke(cli, ["-w", str(trained.workspace.root), "chat", "base", "-p", "x"])
    assert result.exit_code == 2 and "--against" in result.output
    result = CliRunner().invoke(cli, ["-w", str(trained.workspace.root), "chat", "nope-xyz", "-p", "x"])
    assert result.exit_code == 2 and "nope-xyz" in result.output
    assert "Traceback" not in result.output


async def test_playground_base_beside_fine_tune(trained, tmp_path) -> None:
    from tailor.tui.screens.playground import PlaygroundScreen
    from tailor.tui.screens.playground_dialogs import PickModel

    ws, run = trained.workspace, trained.run.run_id
    out = (tmp_path / "merged-demo").resolve()  # a merged export is offered too (as model:PATH)
    result = CliRunner().invoke(cli, ["-w", str(ws.root), "export", run, str(out), "--merge"])
    assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(cli, ["-w", str(ws.root), "chat", "--list"]).stdout.splitlines()
    assert listed[0].split("\t")[:2] == [f"model:{out}", "merged"]  # the CLI twin lists it first (newest)

    app = make_app(trained.workspace, start_screen="playground")
    async with app.run_test(size=(120, 40)) as pilot:
        def loaded():
            screen = pilot.app.screen
            return isinstance(screen, PlaygroundScreen) and len(screen.labels) == 2 and screen

        await wait_until(pilot, lambda: isinstance(app.screen, PlaygroundScreen) and app.screen.listed, what="choices")
        await pilot.press(*prompt_text(WORD), "enter")  # typed while the models load: queued, sent once ready
        screen = await wait_until(pilot, loaded, timeout=120, what="both models loaded")
        assert screen.labels == {"A": trained.run.run_id, "B": "base (tailor/tiny)"}  # newest run beside its base

        await wait_until(pilot, lambda: not screen.busy and screen.panes["A"].latency, timeout=60, what="answers")
        assert screen.panes["A"].turns[-1] == ("assistant", answer(WORD))
        assert screen.panes["B"].turns[-1][1] != answer(WORD)
        assert "1st token" in screen.panes["A"].latency and "tok/s" in screen.panes["A"].latency

        await pilot.press(*prompt_text("abcd"), "enter")  # a second turn: each side keeps its own history
        await wait_until(pilot, lambda: not screen.busy and len(screen.panes["B"].turns) == 4, timeout=60, what="turn 2")
        assert len(screen.sides["A"].history) == 4 and len(screen.sides["B"].history) == 4

        target = tmp_path / "probes.jsonl"
        await pilot.press("escape", "s")  # leave the prompt; save the exchange as an eval example
        await pilot.pause()
        app.screen.query_one("Input").value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, target.exists, what="the saved example")
        row = json.loads(target.read_text().splitlines()[-1])
        assert row["prompt"][-1] == {"role": "user", "content": "Reverse: abcd"}
        assert len(row["prompt"]) == 3  # the earlier turn of side A came along
        assert set(row["answers"]) == {trained.run.run_id, "base (tailor/tiny)"}

        await pilot.press("n")  # a new conversation empties both histories
        assert screen.sides["A"].history == [] and screen.panes["B"].turns == []
        await pilot.press("b")  # switch side B to nothing: its worker closes
        await pilot.pause()
        await pilot.press("G", "enter")  # the last choice is "nothing"
        await wait_until(pilot, lambda: "B" not in screen.sides, what="side B closed")

        assert [t for t, _ in screen.choices][:3] == ["base", f"model:{out}", run]
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, PickModel), what="the picker")
        await pilot.press("g", "j", "enter")  # base, then the merged model: side A's worker loads it
        await wait_until(pilot, lambda: screen.labels.get("A") == "merged-demo", timeout=120, what="merged loaded")
        await pilot.press("i", *prompt_text(WORD), "enter")
        await wait_until(pilot, lambda: not screen.busy and screen.panes["A"].latency, timeout=60, what="the answer")
        assert screen.panes["A"].turns[-1] == ("assistant", answer(WORD))  # the merged model is the fine-tune

