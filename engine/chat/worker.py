"""The chat worker process: one model loaded at a time, answers streamed as JSON lines.

Loading a different model first releases the old one (and its GPU memory). Every expected failure is
answered as one ``error`` line and the worker stays up, so a bad pick in the Playground costs nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tailor.engine.chat.protocol import ChatSettings
from tailor.engine.errors import TailorError, one_line


class ChatState:
    def __init__(self, workspace: str) -> None:
        from tailor.engine.workspace import Workspace

        self.ws = Workspace(workspace)
        self.cache: dict[str, Any] = {}
        self.model: Any = None
        self.tokenizer: Any = None
        self.label = ""

    def load(self, target: str, base_of: str | None) -> dict[str, Any]:
        from tailor.engine.eval.candidates import load_candidate, release

        start = time.perf_counter()
        cand = resolve(self.ws, target, base_of)
        self.model = self.tokenizer = None
        release(self.cache)  # switching models unloads the old one first
        self.model, self.tokenizer = load_candidate(cand, self.cache)
        self.label = cand.label
        return {"event": "loaded", "label": cand.label, "model": cand.base.name_or_path,
                "seconds": round(time.perf_counter() - start, 3)}


def resolve(ws: Any, target: str, base_of: str | None) -> Any:
    """The Candidate for a target: ``base`` (of ``base_of``), ``model:NAME`` or a run (id, prefix, latest)."""
    from tailor.engine.eval.candidates import Candidate, run_candidate
    from tailor.engine.recipes.common import ModelSpec
    from tailor.engine.runs.lookup import find_run, run_recipe

    if target.startswith("model:"):
        name = target.partition(":")[2]
        label = Path(name).name if Path(name).is_dir() else name  # an exported merged model: its folder's name
        return Candidate(id=target, label=label, kind="base", source=name, base=ModelSpec(name_or_path=name))
    if target == "base":
        if not base_of:
            raise TailorError("base: which run's base model? give a run to compare with (or model:NAME)")
        spec = run_recipe(find_run(ws, base_of)).model
        return Candidate(id="base", label=f"base ({spec.name_or_path})", kind="base", source=spec.name_or_path, base=spec)
    return run_candidate(ws, target)


def serve(state: ChatState, lines: Any, out: Any) -> None:
    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    for line in lines:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                send({"event": "bye"})
                return
            if op == "load":
                send(state.load(str(req["target"]), req.get("base_of")))
            elif op == "chat":
                send(chat(state, req, send))
            else:
                send({"event": "error", "message": f"unknown op {op!r}"})
        except (TailorError, ValueError, KeyError, TypeError) as exc:
            send({"event": "error", "message": one_line(exc)})
        except Exception as exc:  # a model that fails mid-generation must not end the session
            send({"event": "error", "message": one_line(exc)})


def chat(state: ChatState, req: dict[str, Any], send: Any) -> dict[str, Any]:
    from tailor.engine.chat.stream import stream_answer

    if state.model is None:
        raise TailorError("no model loaded yet")
    rid = req.get("id", 0)
    settings = ChatSettings.from_json(req.get("settings") or {})
    messages = req["messages"]
    done = stream_answer(state.model, state.tokenizer, messages, settings,
                         lambda text: send({"event": "token", "id": rid, "text": text}))
    return {"event": "done", "id": rid, **done}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tailor.engine.chat")
    parser.add_argument("--ws", required=True, help="the workspace whose runs are chatted with")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        state = ChatState(args.ws)
    except Exception as exc:
        print(json.dumps({"event": "error", "message": one_line(exc)}), flush=True)
        sys.exit(2)
    out = sys.stdout
    sys.stdout = sys.stderr  # a library that prints must not corrupt the protocol
    out.write(json.dumps({"event": "ready"}) + "\n")
    out.flush()
    serve(state, sys.stdin, out)


if __name__ == "__main__":
    main()
