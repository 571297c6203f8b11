"""Hyper-parameter searches (Optuna studies): start, stop, enqueue and promote trials, the study
storage URL, reading studies, watching one, and the views of its trials."""

from tailor.engine.recipes.storage_url import check_storage_url
from tailor.engine.search import SearchError
from tailor.engine.search.launch import enqueue, promote, start_search, stop_search
from tailor.engine.search.storage import redact, resolve_url
from tailor.engine.search.study import list_studies, load_study, snapshot
from tailor.engine.search.views import heatmap, importance_bars, intermediate_series, quality, sort_rows
from tailor.engine.search.watch import StudyWatcher

__all__ = [
    "SearchError",
    "StudyWatcher",
    "check_storage_url",
    "enqueue",
    "heatmap",
    "importance_bars",
    "intermediate_series",
    "list_studies",
    "load_study",
    "promote",
    "quality",
    "redact",
    "resolve_url",
    "snapshot",
    "sort_rows",
    "start_search",
    "stop_search",
]
