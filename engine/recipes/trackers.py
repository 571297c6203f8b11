"""The experiment trackers a recipe's ``train.report_to`` may name, checked when the recipe loads.

Setting them up for a run is training's part (engine/train/trackers.py); this is what the recipe schema
needs to know, so it stays on the recipe floor.
"""

from __future__ import annotations

from typing import Any

from tailor.engine.errors import RecipeError

#: report_to name -> (module that must import, pip package to install).
TRACKERS: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "mlflow": ("mlflow", "mlflow"),
    "wandb": ("wandb", "wandb"),
    "trackio": ("trackio", "trackio"),
    "comet_ml": ("comet_ml", "comet_ml"),
    "clearml": ("clearml", "clearml"),
    "neptune": ("neptune", "neptune"),
    "dvclive": ("dvclive", "dvclive"),
    "swanlab": ("swanlab", "swanlab"),
    "azure_ml": ("azureml", "azureml-core"),
    "codecarbon": ("codecarbon", "codecarbon"),
    "flyte": ("flytekit", "flytekit"),
    "dagshub": ("dagshub", "dagshub"),
}
ALIASES = {"comet": "comet_ml"}
#: Folders of the run directory a tracker writes into (fetched with the run; see engine/remote/server.py
#: and engine/train/trackers.py, which points them there).
TRACKER_DIRS = ("tensorboard", "mlflow", "wandb", "trackio", "comet")


def normalise(value: Any) -> list[str]:
    """``report_to`` as a list of integration names (``none`` / empty: no tracker)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for item in items:
        name = ALIASES.get(str(item), str(item))
        if name in ("none", ""):
            continue
        if name == "all":
            raise RecipeError("train.report_to: 'all' reports to whatever happens to be installed; name the trackers")
        if name not in TRACKERS:
            raise RecipeError(f"train.report_to: unknown tracker {item!r}; use one of {', '.join(TRACKERS)} (or a list)")
        out.append(name)
    return list(dict.fromkeys(out))
