"""Watch studies for a live view: which studies exist (in every storage this workspace used), and a
snapshot of one (trials, best, history, importances) plus the search workers running it.

Used from one thread (the Search screen's poller): storages are opened once per URL and kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.search import SearchError
from tailor.engine.search.storage import open_storage, redact, require_optuna, resolve_url

if TYPE_CHECKING:
    from tailor.engine.workspace import Workspace

MAX_STUDIES = 50


class StudyWatcher:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._storages: dict[str, Any] = {}
        self._importances: dict[tuple[str, str], tuple[int, dict[str, float]]] = {}

    # -- where studies are -----------------------------------------------------
    def storage(self, url: str) -> Any:
        if url not in self._storages:
            self._storages[url] = open_storage(url, heartbeat_interval=None)
        return self._storages[url]

    def search_runs(self) -> list[Any]:
        """Statuses of the workspace's search worker runs, oldest first."""
        out = []
        for run in self.workspace.run_dirs():
            try:
                status = run.effective_status()
            except Exception:  # a half-written run folder
                continue
            if status.kind == "search":
                out.append(status)
        return out

    def urls(self, runs: list[Any]) -> list[str]:
        """The workspace's studies.db plus every storage a search run of this workspace used."""
        urls = [resolve_url(None, Path(self.workspace.root))]
        for status in runs:
            url = status.links.get("storage")
            if isinstance(url, str) and "***" not in url and url not in urls:
                urls.append(url)
        return urls

    def studies(self, runs: list[Any] | None = None) -> list[tuple[str, str]]:
        """(study name, storage url) for every study found, newest activity last."""
        require_optuna()  # a light install: one line naming the extra, shown once by the Search screen
        import optuna

        runs = self.search_runs() if runs is None else runs
        found: list[tuple[str, str]] = []
        for url in self.urls(runs):
            try:
                summaries = optuna.get_all_study_summaries(self.storage(url), include_best_trial=False)
            except SearchError:
                continue  # a storage that went away: the others still show
            found += [(s.study_name, url) for s in summaries]
        return found[-MAX_STUDIES:]

    # -- one study -------------------------------------------------------------
    def snapshot(self, name: str, url: str, runs: list[Any] | None = None) -> dict[str, Any]:
        import optuna

        from tailor.engine.search.study import importances, snapshot

        study = optuna.load_study(study_name=name, storage=self.storage(url))
        snap = snapshot(study)
        complete = snap["counts"]["complete"]
        key = (name, url)
        cached = self._importances.get(key)
        if cached is None or cached[0] != complete:  # recomputed only when a trial completes
            cached = (complete, importances(study))
            self._importances[key] = cached
        snap["importances"] = cached[1]
        snap["storage"] = redact(url)
        root = str(Path(self.workspace.root))
        snap["storage_short"] = snap["storage"].replace(f"{root}/", "") if root in url else snap["storage"]
        snap["url"] = url
        runs = self.search_runs() if runs is None else runs
        mine = [s for s in runs if s.links.get("study") == name]
        snap["workers"] = [s.run_id for s in mine if s.state.active]
        recipes = [s.links.get("recipe") for s in mine if s.links.get("recipe") and s.links.get("role") != "worker"]
        snap["recipe"] = recipes[-1] if recipes else None
        return snap
