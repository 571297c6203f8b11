"""The screen registry: name -> "module:Class", loaded on first visit (``load_screen`` in placeholder.py).

Adding a screen needs no edit of tui/app.py: put the class at its target path. A module that is not
there yet shows the PlaceholderScreen; one that fails to import shows the placeholder with the error.
Data only: the nav bar, the placeholder and the app read it, and it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
