"""Pairwise judging by an OpenAI-compatible chat endpoint (a hosted GPT-4-class model, or a local server).

The recipe names the endpoint (``judge: {base_url, model, api_key_env}``); the key is read from that
environment variable in the worker and is never written to the recipe, the run directory or a log.
Each pair is asked in both orders; a reply must be exactly the letter A or B (optionally wrapped in
whitespace, quotes, brackets, ``**`` or a trailing full stop, or after ``Answer:``). Anything else is an
*unparsed* verdict: counted and reported, never guessed, and the example is left out of the win rate.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tailor.engine.errors import TailorError
from tailor.engine.eval.judge import DEFAULT_TEMPLATE

VERDICT_RE = re.compile(r"^[\s\"'`*(\[]*(?:answer\s*:?\s*)?([AB])[\s\"'`*)\].]*$", re.IGNORECASE)


class JudgeError(TailorError):
    """The endpoint cannot be used at all (unreachable, refused the key, no such model)."""


def check_key(recipe: Any, environ: Mapping[str, str] | None = None) -> None:
    """Refuse an endpoint judge whose key variable is unset: one line naming the variable, raised before
    a run directory is written (the local launcher) or a model is loaded (the worker, on its host).

    The recipe's ``judge:`` (kind eval) or ``evaluate.judge`` (a training run evaluating at its end);
    ``api_key_env: null`` is the endpoint that takes no key.
    """
    from tailor.engine.errors import RecipeError

    spec = getattr(recipe, "judge", None)
    where = "judge"
    evaluate = getattr(recipe, "evaluate", None)
    if spec is None and isinstance(evaluate, dict) and isinstance(evaluate.get("judge"), dict):
        from tailor.engine.recipes.eval import JudgeSpec

        spec, where = JudgeSpec.model_validate(evaluate["judge"]), "evaluate.judge"
    if spec is None or getattr(spec, "base_url", None) is None or not spec.api_key_env:
        return
    env = os.environ if environ is None else environ
    if not env.get(spec.api_key_env):
        raise RecipeError(f"{where}.api_key_env: the environment variable {spec.api_key_env} is not set; export it "
                          f"with the key of {spec.base_url} (or set api_key_env: null for an endpoint without a key)")


def parse_verdict(reply: str) -> str | None:
    """``"A"``, ``"B"`` or None for anything that is not exactly one of the letters."""
    m = VERDICT_RE.match(reply or "")
    return m.group(1).upper() if m else None


class EndpointJudge:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        template: str | None = None,
        timeout: float = 60.0,
        max_tokens: int = 8,
        environ: dict[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.template = template or DEFAULT_TEMPLATE
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._key = env.get(api_key_env) if api_key_env else None
        self.unparsed_replies: list[str] = []  # the first few, for the log (they hold no secret)

    def ask(self, text: str) -> str:
        """The endpoint's reply to one judge prompt (temperature 0)."""
        body = json.dumps({
            "model": self.model,
            "messages": [{"role": "user", "content": text}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                answer = json.loads(resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:200].replace("\n", " ")
            hint = " (is the key's environment variable set? see judge.api_key_env)" if exc.code in (401, 403) else ""
            raise JudgeError(f"judge endpoint {self.url}: HTTP {exc.code}{hint}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise JudgeError(f"judge endpoint {self.url} is unreachable: {reason}") from None
        except ValueError:
            raise JudgeError(f"judge endpoint {self.url} did not answer JSON") from None
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise JudgeError(f"judge endpoint {self.url}: no choices[0].message.content in the answer") from None
        return str(content or "")

    def verdict(self, prompt: str, a: str, b: str) -> str | None:
        reply = self.ask(self.template.format(prompt=prompt, a=a, b=b))
        found = parse_verdict(reply)
        if found is None and len(self.unparsed_replies) < 5:
            self.unparsed_replies.append(reply[:80])
        return found

    def compare(
        self,
        prompts: Sequence[str],
        candidate: Sequence[str],
        baseline: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Per example: ``win`` (1, 0.5, 0) from both orders, or ``unparsed`` (how many orders failed)."""
        out: list[dict[str, Any]] = []
        for i, (p, c, b) in enumerate(zip(prompts, candidate, baseline, strict=True)):
            if c.strip() == b.strip():
                out.append({"win": 0.5, "p_win": 0.5})
            else:
                first = self.verdict(p, c, b)  # the candidate is A
                second = self.verdict(p, b, c)  # the candidate is B
                failed = (first is None) + (second is None)
                if failed:
                    out.append({"unparsed": float(failed)})
                else:
                    win = ((first == "A") + (second == "B")) / 2
                    out.append({"win": win, "p_win": win})
            if progress:
                progress(i + 1, len(prompts))
        return out


def summarise(verdicts: Sequence[dict[str, Any]]) -> tuple[float | None, int]:
    """(win rate over the parsed examples, number of examples with an unparsed verdict)."""
    wins = [float(v["win"]) for v in verdicts if "win" in v]
    unparsed = sum(1 for v in verdicts if "unparsed" in v)
    return (sum(wins) / len(wins) if wins else None), unparsed
