"""The screen registry: name -> "module:Class", loaded on first visit, with a placeholder fallback.

Adding a screen needs no edit of tui/app.py: put the class at its target path. A module that is not
there yet shows the PlaceholderScreen; one that fails to import shows the placeholder with the error.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen


@dataclass(frozen=True)
class ScreenEntry:
    name: str  # mode name and binding id suffix: app.screen.<name>
    title: str
    key: str  # the number key that opens it
    target: str  # "module:Class"
    about: str  # one line for the placeholder and the command palette


SCREENS: tuple[ScreenEntry, ...] = (
    ScreenEntry("datasets", "Datasets", "1", "tailor.tui.screens.datasets:DatasetsScreen",
                "Inspect, validate and preview training data."),
    ScreenEntry("search", "Search", "2", "tailor.tui.screens.search:SearchScreen",
                "Hyper-parameter searches (Optuna studies) and their trials."),
    ScreenEntry("runs", "Runs", "3", "tailor.tui.screens.runs:RunsScreen",
                "Launch, follow, cancel, resume and compare training runs."),
    ScreenEntry("evals", "Evals", "4", "tailor.tui.screens.evals:EvalsScreen",
                "Evaluation results side by side."),
    ScreenEntry("hosts", "Hosts", "5", "tailor.tui.screens.hosts:HostsScreen",
                "SSH hosts that can run workers."),
    ScreenEntry("playground", "Playground", "6", "tailor.tui.screens.playground:PlaygroundScreen",
                "Chat with a fine-tune beside its base model."),
)

BY_NAME = {entry.name: entry for entry in SCREENS}


def entry(name: str) -> ScreenEntry:
    return BY_NAME[name]


def load_screen(item: ScreenEntry) -> Screen:
    """An instance of the registered screen, or a placeholder when it is missing or broken."""
    from tailor.tui.screens.placeholder import PlaceholderScreen

    module_name, class_name = item.target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return PlaceholderScreen(item)
        return PlaceholderScreen(item, error=_one_line(exc))
    except Exception as exc:  # a broken screen must not take the app down
        return PlaceholderScreen(item, error=_one_line(exc))
    cls = getattr(module, class_name, None)
    if cls is None:
        return PlaceholderScreen(item)
    try:
        return cls()
    except Exception as exc:
        return PlaceholderScreen(item, error=_one_line(exc))


def _one_line(exc: BaseException) -> str:
    from tailor.engine.api.errors import one_line

    return one_line(exc)
