"""Experiment trackers (``train.report_to``): the user's tracker receives the run beside Tailor's events.

``events.jsonl`` stays the source of truth for the TUI; a tracker is an extra reporter that the
transformers Trainer drives through its own integrations (TensorBoard, MLflow, W&B, Trackio, Comet...).
Tailor only sets things up so that every tracker

* names the run after the Tailor run id, and gets the recipe's fields as its config and the run id,
  kind and method as tags;
* writes whatever it stores locally *inside the run directory* (``tensorboard/``, ``mlflow/``,
  ``wandb/``, ``trackio/``, ``comet/``), so it is fetched with the run from a remote host;
* is installed before the run starts, or the run fails at once with the ``pip install`` line.

Settings the user made in the environment (``MLFLOW_TRACKING_URI``, ``WANDB_PROJECT``, ``WANDB_MODE``...)
win: the defaults below are only filled in where nothing is set. Tracker secrets (``WANDB_API_KEY``,
``MLFLOW_TRACKING_TOKEN``, ``COMET_API_KEY``...) reach remote workers through the secrets path
(engine/remote/quoting.py), never through the recipe.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import RecipeError
from tailor.engine.recipes.trackers import TRACKERS, normalise

if TYPE_CHECKING:
    from tailor.engine.recipes.trainable import TrainableRecipe
    from tailor.engine.worker.context import WorkerContext

_SET_BY_TAILOR: dict[str, str] = {}  # environment defaults this process set (runs trained in-process, tests)


def missing(names: list[str]) -> list[str]:
    """The pip packages to install for the trackers that are not importable here."""
    return [TRACKERS[n][1] for n in names if importlib.util.find_spec(TRACKERS[n][0]) is None]


def check_installed(names: list[str]) -> None:
    lacking = missing(names)
    if lacking:
        raise RecipeError(f"train.report_to: {', '.join(lacking)} not installed here; pip install {' '.join(lacking)}")


def tags(recipe: TrainableRecipe, ctx: WorkerContext) -> dict[str, str]:
    return {"tailor.run_id": ctx.run.run_id, "tailor.kind": recipe.kind, "tailor.method": recipe.method}


def prepare(recipe: TrainableRecipe, ctx: WorkerContext) -> dict[str, Any]:
    """Check and set up the recipe's trackers; the TrainingArguments values they need (``report_to``,
    ``run_name``, ``project``). Environment defaults point local stores into the run directory."""
    names = normalise(recipe.train.get("report_to"))
    if not names:
        return {"report_to": "none"}
    check_installed(names)
    run = ctx.run.path
    label = tags(recipe, ctx)
    env = {
        "TENSORBOARD_LOGGING_DIR": str(run / "tensorboard"),
        # MLflow 3 keeps its file store in maintenance mode: a SQLite store (mlflow/mlflow.db) instead
        "MLFLOW_TRACKING_URI": f"sqlite:///{run / 'mlflow' / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "tailor",
        "MLFLOW_TAGS": json.dumps(label),
        "MLFLOW_FLATTEN_PARAMS": "true",
        "WANDB_DIR": str(run),
        "WANDB_PROJECT": "tailor",
        "WANDB_TAGS": ",".join(f"{k}={v}" for k, v in label.items()),
        "TRACKIO_DIR": str(run / "trackio"),
        "COMET_OFFLINE_DIRECTORY": str(run / "comet"),
        "COMET_PROJECT_NAME": "tailor",
    }
    if "mlflow" in names:
        (run / "mlflow").mkdir(mode=0o700, exist_ok=True)
    for key, value in env.items():
        # the user's own settings win; a value Tailor set for an earlier run in this process does not
        if key not in os.environ or os.environ[key] == _SET_BY_TAILOR.get(key):
            os.environ[key] = _SET_BY_TAILOR[key] = value
    ctx.log(f"reporting to {', '.join(names)} besides events.jsonl")
    values: dict[str, Any] = {"report_to": names, "run_name": ctx.run.run_id}
    if "project" not in recipe.train:
        values["project"] = "tailor"  # trackio's project (TrainingArguments.project)
    return values


def recipe_config(recipe: TrainableRecipe) -> dict[str, Any]:
    """The recipe's fields, flattened to ``section.field`` keys with scalar values (tracker configs)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            flat[prefix] = ", ".join(map(str, value))
        else:
            flat[prefix] = value

    walk("", recipe.model_dump(mode="json", exclude_none=True))
    return {f"tailor.{k}": v for k, v in flat.items()}


def recipe_callback(recipe: TrainableRecipe, ctx: WorkerContext) -> Any:
    """A TrainerCallback that sends the recipe's fields to each tracker once its run exists (the
    Trainer's integrations already send the TRL config and the model config)."""
    from transformers import TrainerCallback

    config = recipe_config(recipe)
    run_tags = tags(recipe, ctx)

    class RecipeToTrackers(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not state.is_world_process_zero:
                return
            names = args.report_to or []
            try:
                if "wandb" in names:
                    import wandb

                    if wandb.run is not None:
                        wandb.config.update(config, allow_val_change=True)
                if "mlflow" in names:
                    import mlflow

                    if mlflow.active_run() is not None:
                        # MLflow params are immutable strings of bounded length: tags hold the recipe.
                        mlflow.set_tags({k: str(v)[:5000] for k, v in config.items()} | run_tags)
                if "trackio" in names:
                    import trackio

                    trackio.config.update(config, allow_val_change=True)
            except Exception as exc:  # a tracker hiccup never stops training
                ctx.log(f"could not send the recipe to the tracker: {exc}", "warning")

    return RecipeToTrackers()
