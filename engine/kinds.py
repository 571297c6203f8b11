"""The registry of recipe kinds: one entry per kind, and every list of kinds derives from it.

A kind is what a recipe's ``kind:`` names. Its entry is the one place for the kind's facts: which
pydantic model validates the recipe, which function the worker calls to run it, which data task its rows
are checked against, which TRL config class its ``train:`` block is checked against, its default search
ranges, the checks a launch makes, its key metrics, and what it can do (train, start from a run, be
searched, be evaluated). Adding a kind is its recipe model, its runner and one ``register`` line here
(see docs/architecture.md, "Adding a kind").

This module is the bottom floor of the engine: it imports nothing from Tailor. Models, runners and
checks are named as ``"module:attr"`` strings, imported on first use, so the recipe models (one floor
up) may ask the registry for their kind's facts, and importing it loads neither them nor torch.

Kinds from outside the engine register themselves when their module is imported. The worker, the CLI
and the TUI are separate processes, so such modules are named where every process finds them: the
``TAILOR_PLUGINS`` environment variable (comma-separated module names, imported at the first lookup, not
with this module, since a plug-in imports the recipe models, which import this module; a worker inherits
it) or the ``tailor.kinds`` entry-point group of an installed package (loaded the first
time a kind name is not found, so start-up pays nothing for it).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from pydantic import BaseModel

#: The data tasks rows are checked against (engine.data.formats.Task).
DATA_TASKS = ("sft", "preference", "unpaired_preference")


@dataclass(frozen=True)
class Kind:
    """What Tailor knows about one recipe kind."""

    name: str
    #: The recipe model: a pydantic class, or ``"module:Class"`` imported on first use.
    recipe: type[BaseModel] | str
    #: ``runner(recipe, ctx)``: a function, or ``"module:function"`` imported in the worker only.
    runner: Callable[..., Any] | str
    #: The data tasks its training rows may be checked against, the default first (empty: it reads no
    #: training rows). A recipe may pick another through its own ``data_task`` (DPO with ``trainer: kto``).
    data_tasks: tuple[str, ...] = ()
    #: The TRL config class its ``train:`` block is checked against: a name in engine/recipes/trl_fields.json
    #: or ``"module:Class"`` (read from TRL until the snapshot is regenerated); None: no block. Stated here
    #: only; a recipe may choose another per recipe (``trl_config_class``: DPO with ``trainer: kto``).
    trl_config: str | None = None
    #: It trains a model (the launch form offers overrides, the fit estimate applies).
    trainable: bool = False
    #: Its recipe may start from another run (``from_run``).
    chainable: bool = False
    #: Its succeeded runs are models: a ``from_run`` parent, an evaluation candidate.
    produces_model: bool = False
    #: A ``kind: search`` recipe may wrap it.
    searchable: bool = False
    #: Its runs can be evaluated (``evaluate:`` block, ``tailor eval RUN``).
    evaluable: bool = False
    #: One line for help texts and the launch form.
    summary: str = ""
    #: The metrics that say how its training goes, shown in every metric line (``tailor run -f``, ``tailor
    #: logs``, the run view) before the rest, which are cut to fit (loss and eval_loss are always first).
    key_metrics: tuple[str, ...] = ()
    #: Default search ranges of its own parameters, by recipe path (``"beta"``, ``"train.learning_rate"``),
    #: in a search ``space:`` entry's form; they win over the shared ones (engine/recipes/search_params.py).
    search_ranges: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``check(recipe)`` before a worker starts on this machine (raises RecipeError): a function or
    #: ``"module:function"``. The eval kind checks its endpoint judge's key variable here.
    launch_check: Callable[[Any], None] | str | None = None
    #: ``check(recipe, host, source)`` before a launch on an SSH host (raises RecipeError): search refuses
    #: a workspace-relative study, which would exist on that host alone.
    host_check: Callable[[Any, str, str], None] | str | None = None

    def recipe_model(self) -> type[BaseModel]:
        return _resolve(self.recipe)

    def runner_function(self) -> Callable[..., Any]:
        return _resolve(self.runner)

    def check_launch(self, recipe: Any) -> None:
        """Run the kind's launch check, if it has one."""
        if self.launch_check is not None:
            _resolve(self.launch_check)(recipe)

    def check_host(self, recipe: Any, host: str, source: str) -> None:
        """Run the kind's check for a launch on ``host``, if it has one."""
        if self.host_check is not None:
            _resolve(self.host_check)(recipe, host, source)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind, *, replace: bool = False) -> Kind:
    """Add a kind (tests and plug-ins may register their own from outside the engine)."""
    if kind.name in _KINDS and not replace:
        raise ValueError(f"kind {kind.name!r} is registered already")
    for task in kind.data_tasks:
        if task not in DATA_TASKS:
            raise ValueError(f"kind {kind.name!r}: unknown data task {task!r}; use one of {DATA_TASKS}")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def get(name: str) -> Kind:
    """The kind named ``name`` (KeyError when there is none: callers check ``known`` first)."""
    if name not in _registry():
        _load_entry_points()
    return _KINDS[name]


def known(name: object) -> TypeGuard[str]:
    if isinstance(name, str) and name not in _registry():
        _load_entry_points()
    return isinstance(name, str) and name in _KINDS


def names() -> list[str]:
    return list(_registry())


def all_kinds() -> list[Kind]:
    return list(_registry().values())


def key_metrics() -> list[str]:
    """Every kind's key metrics after loss and eval_loss, then the optimiser's (engine/runs/format.py)."""
    out = ["loss", "eval_loss"]
    for kind in all_kinds():
        out += [m for m in kind.key_metrics if m not in out]
    return out + [m for m in ("learning_rate", "grad_norm", "samples_per_second") if m not in out]


def _with(flag: str) -> list[str]:
    return [k.name for k in all_kinds() if getattr(k, flag)]


def trainable() -> list[str]:
    return _with("trainable")


def chainable() -> list[str]:
    return _with("chainable")


def model_producing() -> list[str]:
    """Kinds whose succeeded runs are models (from_run parents, evaluation candidates)."""
    return _with("produces_model")


def searchable() -> list[str]:
    return _with("searchable")


def evaluable() -> list[str]:
    return _with("evaluable")


def data_tasks() -> list[str]:
    """The data tasks some registered kind trains on, in the registry's order."""
    return list(dict.fromkeys(t for k in all_kinds() for t in k.data_tasks))


def data_task_of(recipe: Any) -> str | None:
    """The data task of a parsed recipe: the recipe's own ``data_task`` (DPO with ``trainer: kto``
    reads unpaired rows) or its kind's."""
    own = getattr(recipe, "data_task", None)
    if isinstance(own, str):
        return own
    kind = getattr(recipe, "kind", None)
    return get(kind).data_tasks[0] if known(kind) and get(kind).data_tasks else None


def either(names_: list[str]) -> str:
    """``sft or dpo``: kind names for messages."""
    return " or ".join(names_) if len(names_) < 3 else ", ".join(names_[:-1]) + " or " + names_[-1]


def _resolve(ref: Any) -> Any:
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


# -- the built-in kinds ------------------------------------------------------------------------------
# An endpoint judge's key variable (``judge:`` of an eval recipe, ``evaluate.judge`` of a training run) is
# checked where the worker starts, before a run directory is written.
_JUDGE_KEY = "tailor.engine.eval.judge_endpoint:check_key"

register(Kind(
    "sft", "tailor.engine.recipes.sft:SFTRecipe", "tailor.engine.train.sft:run_sft",
    data_tasks=("sft",), trl_config="SFTConfig",
    trainable=True, chainable=True, produces_model=True, searchable=True, evaluable=True,
    summary="supervised fine-tuning (TRL SFTTrainer) with LoRA, DoRA, QLoRA, full or partial tuning",
    key_metrics=("mean_token_accuracy", "eval_mean_token_accuracy"),
    # LoRA SFT: 1e-5..1e-3, around the usual 2e-4
    search_ranges={"train.learning_rate": {"low": 1e-5, "high": 1e-3, "log": True}},
    launch_check=_JUDGE_KEY,
))
register(Kind(
    "dpo", "tailor.engine.recipes.dpo:DPORecipe", "tailor.engine.train.dpo:run_dpo",
    data_tasks=("preference", "unpaired_preference"), trl_config="DPOConfig",
    trainable=True, chainable=True, produces_model=True, searchable=True, evaluable=True,
    summary="preference alignment: DPO and its losses, KTO, ORPO",
    key_metrics=("rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected",
                 "eval_rewards/margins", "eval_rewards/accuracies"),
    # DPO wants far lower learning rates than SFT
    search_ranges={"train.learning_rate": {"low": 5e-7, "high": 5e-5, "log": True},
                   "beta": {"low": 0.01, "high": 0.5, "log": True}},
    launch_check=_JUDGE_KEY,
))
register(Kind(
    "grpo", "tailor.engine.recipes.grpo:GRPORecipe", "tailor.engine.train.grpo:run_grpo", trl_config="GRPOConfig",
    trainable=True, chainable=True, produces_model=True, searchable=True, evaluable=True,
    summary="reinforcement learning with verifiable rewards (TRL GRPOTrainer): built-in and your own rewards",
    key_metrics=("reward", "reward_std", "kl", "completions/mean_length", "completions/clipped_ratio"),
    search_ranges={
        "train.learning_rate": {"low": 1e-6, "high": 1e-4, "log": True},  # GRPO with LoRA
        # the KL coefficient is far smaller than DPO's beta (DeepSeek-R1: 0.001; TRL's default 0: no KL)
        "beta": {"low": 0.001, "high": 0.1, "log": True},
        "num_generations": {"choices": [4, 8, 16]},  # the group size; must divide the batch of completions
    },
    launch_check=_JUDGE_KEY,
))
register(Kind(
    "search", "tailor.engine.recipes.search:SearchRecipe", "tailor.engine.search.run:run_search",
    host_check="tailor.engine.search.storage:check_host_launch",
    summary="an Optuna study whose trials are runs of a wrapped recipe",
))
register(Kind(
    "eval", "tailor.engine.recipes.eval:EvalRecipe", "tailor.engine.eval.run:run_eval",
    launch_check=_JUDGE_KEY,
    summary="evaluate the base model and fine-tunes on held-out data",
))
register(Kind(
    "merge", "tailor.engine.recipes.merge:MergeRecipe", "tailor.engine.train.merge:run_merge", produces_model=True,
    summary="combine LoRA adapters of finished runs (PEFT: linear, cat, svd, ties, dare_*, magnitude_prune)",
))


# -- kinds from outside the engine ------------------------------------------------------------------
_entry_points_loaded = False
_plugins_loaded = False


def _registry() -> dict[str, Kind]:
    """The registered kinds, once the ``TAILOR_PLUGINS`` modules are imported (at the first lookup)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True  # first: a plug-in that looks a kind up while it imports finds the built-ins
        load_plugins()
    return _KINDS


def _load_entry_points() -> None:
    """Import the modules of installed packages' ``tailor.kinds`` entry points (once)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="tailor.kinds"):
        ep.load()


def load_plugins(spec: str | None = None) -> list[str]:
    """Import the modules named in ``TAILOR_PLUGINS`` (or ``spec``); each registers its kinds."""
    names = [m.strip() for m in (os.environ.get("TAILOR_PLUGINS", "") if spec is None else spec).split(",")]
    for module in filter(None, names):
        importlib.import_module(module)
    return [m for m in names if m]
