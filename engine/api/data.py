"""Datasets: the catalog of recent datasets, reading rows from files and registries, formats and
conversion, rendering with a chat template, quality scans, and a new recipe for a dataset."""

from tailor.engine.data.browse import MultiSource, RowSource, open_rows
from tailor.engine.data.catalog import Entry, all_datasets, remember
from tailor.engine.data.fit import first_unrenderable, unrenderable_message
from tailor.engine.data.formats import DESCRIPTIONS, apply_columns, convert, detect
from tailor.engine.data.newrecipe import new_recipe
from tailor.engine.data.prepare import validate_training_data
from tailor.engine.data.quality import add_overlap, add_token_lengths, scan, summary
from tailor.engine.data.records import Record
from tailor.engine.data.registry import is_registry
from tailor.engine.data.registry import load as registry_entries
from tailor.engine.data.render import LossPlan, Rendered, loss_plan, render_record, sequences
from tailor.engine.data.report import QualityReport, refusal
from tailor.engine.data.sources import sibling_eval
from tailor.engine.data.turns import RowIssue
from tailor.engine.data.view import MISSING, Frequency, RowView, cell_text, frequency
from tailor.engine.models.loading import load_tokenizer, tokenizer_refusal

__all__ = [
    "DESCRIPTIONS",
    "MISSING",
    "Entry",
    "Frequency",
    "MultiSource",
    "QualityReport",
    "Record",
    "LossPlan",
    "Rendered",
    "RowIssue",
    "RowSource",
    "RowView",
    "add_overlap",
    "add_token_lengths",
    "all_datasets",
    "apply_columns",
    "cell_text",
    "convert",
    "detect",
    "first_unrenderable",
    "frequency",
    "is_registry",
    "load_tokenizer",
    "tokenizer_refusal",
    "new_recipe",
    "open_rows",
    "refusal",
    "registry_entries",
    "remember",
    "scan",
    "loss_plan",
    "render_record",
    "sequences",
    "sibling_eval",
    "summary",
    "unrenderable_message",
    "validate_training_data",
]
