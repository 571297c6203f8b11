"""The chat worker on an SSH host: started over the host's connection, tokens streamed back over it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tailor.engine.chat.client import ChatWorker
from tailor.engine.chat.protocol import ChatSettings
from tailor.tui.cli import cli

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

MESSAGES = [{"role": "user", "content": "Reverse: abcd"}]


async def test_remote_chat_streams_the_same_text_as_a_local_one(ssh_ws) -> None:
    settings = ChatSettings(temperature=1.2, seed=5, max_new_tokens=6)
    answers = {}
    for host in ("box", None):
        worker = await ChatWorker.start(ssh_ws, host)
        try:
            loaded = await worker.load("model:tailor/tiny")
            assert loaded["label"] == "tailor/tiny"
            tokens, done = [], {}
            async for event in worker.chat(MESSAGES, settings):
                if event["event"] == "token":
                    tokens.append(event["text"])
                else:
                    done = event
            assert "".join(tokens).strip() == done["text"] and done["tokens"] >= 1  # streamed token by token
            answers[host] = done["text"]
        finally:
            await worker.close()
    assert answers["box"] == answers[None]


def test_tailor_chat_on_a_host(ssh_ws) -> None:
    out = CliRunner().invoke(cli, ["-w", str(ssh_ws.root), "chat", "model:tailor/tiny", "--host", "box",
                                   "-p", "Reverse: abcd", "--json", "--max-new-tokens", "4"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.stdout.splitlines()[-1])
    assert answer["model"] == "tailor/tiny" and answer["tokens"] >= 1
