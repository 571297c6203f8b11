"""``kind: eval`` — the base model (zero-shot and few-shot) versus fine-tuned runs on a held-out set.

The same evaluation settings (:class:`EvalSettings`) are used by an eval recipe and by the optional
``evaluate:`` block of a training recipe (:class:`EvaluateSpec`), which evaluates the freshly trained
model against its base at the end of training.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from tailor.engine.recipes.common import DataSource, ModelSpec, Recipe, Strict, suggest
from tailor.engine.recipes.eval_metrics import METRICS, TASK_METRICS

Task = Literal["auto", "generation", "label", "preference"]

KNOWN_METRICS = tuple(METRICS)
# Which metrics apply to which task: the task's defaults plus the optional ones.
_TASK_OF = {
    "generation": {*TASK_METRICS["generation"], "win_rate"},
    "label": {*TASK_METRICS["label"], "perplexity"},
    "preference": {*TASK_METRICS["preference"], "eval_loss", "perplexity", "win_rate"},
}


def _sources(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


class FewShotSpec(Strict):
    """The base model also runs few-shot: ``k`` examples drawn (with ``seed``) from ``source``.

    Without ``source``, shots come from the training data of the first run compared (or, in a
    training recipe's ``evaluate:`` block, from that recipe's training data).
    """

    k: int = Field(3, ge=0, le=64, description="Examples per prompt; 0 disables the few-shot row.")
    seed: int = 42
    source: list[DataSource] | None = None

    _src = field_validator("source", mode="before")(lambda cls, v: None if v is None else _sources(v))

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"k": value} if isinstance(value, int) and not isinstance(value, bool) else value


class GenerationSpec(Strict):
    max_new_tokens: int = Field(64, gt=0, le=8192)
    batch_size: int = Field(16, gt=0, le=1024, description="Prompts per generate() call (left-padded).")
    greedy: bool = Field(True, description="Greedy decoding; false samples with temperature / top_p.")
    temperature: float = Field(0.7, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    stop: list[str] = Field(default_factory=list, description="Cut each output at the first of these strings.")


class JudgeSpec(Strict):
    """A pairwise judge asked which of two answers is better (both orders, to cancel position bias).

    Either a local causal LM (``model:`` only), or an OpenAI-compatible chat endpoint (``base_url:`` and
    the endpoint's ``model:`` name; the key is read from the environment variable ``api_key_env``).
    """

    model: ModelSpec
    base_url: str | None = Field(None, description="An OpenAI-compatible endpoint, e.g. https://api.openai.com/v1; model: is then its model name.")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="The environment variable holding the endpoint's key (never the key itself).")
    timeout_s: float = Field(60.0, gt=0, description="Endpoint judges: seconds to wait for one verdict.")
    max_length: int = Field(2048, gt=0, description="Judge prompts are truncated from the left to this many tokens.")
    template: str | None = Field(
        None, description="Judge prompt with {prompt}, {a} and {b}; it must end where the judge answers A or B."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict) and any(k in value for k in ("api_key", "key", "token")):
            raise ValueError("never put a key in a recipe (it is copied into the run directory): set api_key_env "
                             "to the name of the environment variable that holds it")
        return {"model": value} if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://127.0.0.1:8080/v1)")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        import re

        if v is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError("must be the name of an environment variable (e.g. OPENAI_API_KEY), not a key")
        return v

    @field_validator("template")
    @classmethod
    def _placeholders(cls, v: str | None) -> str | None:
        if v is not None:
            missing = [p for p in ("{prompt}", "{a}", "{b}") if p not in v]
            if missing:
                raise ValueError(f"the template must contain {', '.join(missing)}")
        return v


BUILTIN_CANARIES = ("mmlu-dev", "humaneval")


class CanarySpec(Strict):
    """A general task run beside the user's own (the forgetting guard), through lm-evaluation-harness.

    ``mmlu-dev`` / ``humaneval`` (built in, offline), or ``{task: NAME, include_path: DIR}``: any lm-eval
    task YAML in DIR on local files. See engine/eval/canaries.py and docs/evaluation.md.
    """

    task: str = Field(description="mmlu-dev, humaneval, or the name of an lm-eval task defined in include_path.")
    include_path: str | None = Field(None, description="A folder of lm-eval task YAML files (relative to the recipe).")
    name: str | None = Field(None, description="The column name (default: the task).")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"task": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known(self) -> CanarySpec:
        if self.include_path is None and self.task not in BUILTIN_CANARIES:
            hint = suggest(self.task, list(BUILTIN_CANARIES))
            raise ValueError(f"unknown canary {self.task!r}; built in: {', '.join(BUILTIN_CANARIES)}"
                             + (f" (did you mean '{hint}'?)" if hint else "")
                             + "; for your own lm-eval task give {task: NAME, include_path: DIR}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name or self.task):
            raise ValueError(f"canary name {self.name or self.task!r}: use letters, digits, '_', '.' or '-'")
        return self

    @property
    def builtin(self) -> str | None:
        return self.task if self.include_path is None else None

    @property
    def label(self) -> str:
        return self.name or self.task


class EvalSettings(Strict):
    """What to measure and how; shared by eval recipes and training recipes' ``evaluate:`` blocks."""

    task: Task = Field("auto", description="auto: preference if the data has chosen/rejected, label if the references look like class labels, else generation.")
    metrics: list[str] | None = Field(None, description="Default: every metric of the task.")
    labels: list[str] | None = Field(None, description="Label tasks: the classes (default: the distinct references).")
    few_shot: FewShotSpec | None = Field(default_factory=FewShotSpec)
    zero_shot: bool = Field(True, description="Include the base model zero-shot.")
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    judge: JudgeSpec | None = None
    beta: float = Field(0.1, gt=0, description="Preference tasks: DPO beta for the implicit reward.")
    max_examples: int | None = Field(None, gt=0, description="Evaluate at most this many held-out examples.")
    seed: int = 42
    canaries: list[CanarySpec] = Field(default_factory=list, description="General tasks run on every row (mmlu-dev, humaneval, or your own lm-eval task): the forgetting guard.")
    canary_limit: int | None = Field(None, gt=0, description="Run at most this many items of each canary (default: all).")
    canary_max_new_tokens: int = Field(256, gt=0, le=4096, description="Generating canaries (humaneval): tokens per answer.")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("list at least one metric, or leave metrics out for the task's defaults")
        import difflib

        for name in v:
            if name not in KNOWN_METRICS:
                hint = difflib.get_close_matches(name, KNOWN_METRICS, n=1)
                tip = f"; did you mean '{hint[0]}'?" if hint else f"; use any of {', '.join(KNOWN_METRICS)}"
                raise ValueError(f"unknown metric {name!r}{tip}")
        return list(dict.fromkeys(v))

    @field_validator("labels", mode="before")
    @classmethod
    def _no_booleans(cls, v: Any) -> Any:
        if isinstance(v, list) and any(isinstance(x, bool) for x in v):
            raise ValueError("quote labels such as 'yes' / 'no' / 'true': unquoted, YAML reads them as booleans")
        return v

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) < 2:
            raise ValueError("list at least two distinct labels")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> EvalSettings:
        if self.metrics and self.task != "auto":
            wrong = [m for m in self.metrics if m not in _TASK_OF[self.task]]
            if wrong:
                verb = "does" if len(wrong) == 1 else "do"
                raise _BlockError(("metrics",), f"{', '.join(wrong)} {verb} not apply to task {self.task!r}")
        if self.metrics and "win_rate" in self.metrics and self.judge is None:
            raise _BlockError(("metrics",), "win_rate needs a judge model: set judge: {model: ...}")
        if self.labels and self.task not in ("auto", "label"):
            raise _BlockError(("labels",), f"only applies to task 'label' (task is {self.task!r})")
        return self


class EvalRecipe(EvalSettings, Recipe):
    kind: Literal["eval"] = "eval"
    name: str | None = None
    description: str | None = None
    model: ModelSpec = Field(default_factory=ModelSpec, description="The base model (the row to beat).")
    data: list[DataSource] | None = Field(
        None, description="The held-out set; without it, the held-out rows (data.eval or data.eval_split) of the first run listed."
    )
    runs: list[str] = Field(default_factory=list, description="Run ids (or prefixes, or run folders) to compare.")
    adapters: list[str] = Field(default_factory=list, description="Adapter (or full model) folders to compare.")
    trials: list[str] = Field(default_factory=list, description="Search runs: compare their finished trials.")
    top_trials: int | None = Field(None, gt=0, description="Only the best N trials of each search.")

    _data = field_validator("data", mode="before")(lambda cls, v: None if v is None else _sources(v))

    @field_validator("runs", "adapters", "trials", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("runs", "adapters", "trials")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if any(not str(item).strip() for item in v):
            raise ValueError("entries must not be empty")
        return v

    @model_validator(mode="after")
    def _something_to_evaluate(self) -> EvalRecipe:
        if self.data is None and not self.runs:
            raise ValueError("data: give the held-out set (data: FILE), or list runs: to use the first run's held-out rows")
        base_rows = self.zero_shot or (self.few_shot is not None and self.few_shot.k > 0)
        if not base_rows and not (self.runs or self.adapters or self.trials):
            raise ValueError("nothing to evaluate: keep zero_shot / few_shot or list runs, adapters or trials")
        return self


class EvaluateSpec(EvalSettings):
    """The ``evaluate:`` block of an sft/dpo recipe: evaluate the trained model against its base after training.

    ``data`` defaults to the recipe's eval set (``data.eval``, or the rows split off by ``data.eval_split``).
    """

    data: list[DataSource] | None = None
    base: bool = Field(True, description="Also evaluate the base model (zero-shot / few-shot) for comparison.")

    _data = field_validator("data", mode="before")(lambda cls, v: None if v is None else _sources(v))


def check_evaluate_block(block: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate a training recipe's ``evaluate:`` mapping; raise ValueError naming the nested field."""
    if block is None:
        return None
    try:
        EvaluateSpec.model_validate(block)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _BlockError):
            loc = (*loc, *cause.key)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            options = [f for f in _model_at(loc[:-1]).model_fields]
            hint = suggest(loc[-1], options)
            msg = f"unknown key; did you mean '{hint}'?" if hint else f"unknown key; expected one of: {', '.join(options)}"
        elif err["type"] not in ("value_error", "missing") and not isinstance(err.get("input"), dict | list):
            msg = f"{msg} (got {err.get('input')!r})"
        raise _BlockError(loc, msg) from None
    return block


def _model_at(loc: tuple[str, ...]) -> type[Strict]:
    """The pydantic model holding the field at ``loc`` inside an ``evaluate:`` block."""
    current: type[Strict] = EvaluateSpec
    nested: dict[str, type[Strict]] = {"canaries": CanarySpec, "few_shot": FewShotSpec, "generation": GenerationSpec, "judge": JudgeSpec, "model": ModelSpec}
    for part in loc:
        if part in nested:
            current = nested[part]
        elif part == "data" or part == "source" or part.isdigit():
            current = DataSource if part.isdigit() else current
    return current


class _BlockError(ValueError):
    """Carries the failing path so load.py reports ``evaluate.<path>`` with its line."""

    def __init__(self, key: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.key = key
