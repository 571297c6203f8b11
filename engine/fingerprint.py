"""What a checkpoint was trained with, and what changed since: the check behind ``tailor resume``.

The worker writes ``tailor_fingerprint.json`` into every checkpoint (and the final ``adapter/``): the
effective recipe and TRL arguments, each dataset file as read (sizes and a hash of the rows used), the
model's config, tokenizer and chat-template hashes, library versions, the global step and epoch, and for a
chained run its parent's fingerprint. Before a resume, :func:`resume_changes` takes the same fingerprint of
what would run now (light: it reads files, never imports torch) and sorts the differences:

- notes: logging, eval and save cadence, a raised budget, other library versions. The resume goes on and
  the notes are written to the run's events;
- refusals: data, model, tokenizer or template changes, other training settings, a changed parent, or a
  ``max_steps``/epochs budget the checkpoint has already spent (the trainer would skip straight to
  evaluation). ``--accept-changes`` resumes anyway and records what was accepted.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailor.engine.errors import ResumeRefused, TailorError
from tailor.engine.runs.rundir import RunDir

FINGERPRINT_FILE = "tailor_fingerprint.json"
#: Distributions whose versions a checkpoint records (a different version is a note, not a refusal).
LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")
#: Recipe fields whose change does not alter what is learned: cadence of logs, evals and saves.
HARMLESS = (
    "name", "evaluate", "train.logging_steps", "train.logging_strategy", "train.logging_first_step",
    "train.eval_steps", "train.eval_strategy", "train.eval_delay", "train.per_device_eval_batch_size",
    "train.eval_accumulation_steps", "train.save_steps", "train.save_strategy", "train.save_total_limit",
    "train.report_to", "train.run_name", "train.dataloader_num_workers", "resources",
)
#: The training budget: raising it is how a finished-early run continues (a note).
BUDGET = ("train.max_steps", "train.num_train_epochs")
TRL_DEFAULT_EPOCHS = 3.0


@dataclass
class Change:
    """One difference between a checkpoint's fingerprint and now."""

    field: str
    before: Any
    after: Any
    refuse: bool
    why: str = ""

    def __str__(self) -> str:
        if self.before is None and self.after is None:  # a state, not an edit (a spent budget)
            return f"{self.field}: {self.why}"
        moved = f"{_short(self.before)} -> {_short(self.after)}"
        return f"{self.field}: {moved}" + (f" ({self.why})" if self.why else "")


@dataclass
class ResumeReport:
    """What a resume would change, against the newest complete checkpoint."""

    checkpoint: str | None
    changes: list[Change] = field(default_factory=list)
    parent: dict[str, Any] | None = None

    @property
    def refusals(self) -> list[Change]:
        return [c for c in self.changes if c.refuse]

    @property
    def notes(self) -> list[Change]:
        return [c for c in self.changes if not c.refuse]


# -- taking a fingerprint (worker and resume alike) -------------------------------------------------
def light_fingerprint(run: RunDir) -> dict[str, Any]:
    """The parts of a fingerprint that need no ML library: recipe, data, model files, versions, parent."""
    import yaml

    from tailor.engine.recipes.load import load_recipe

    recipe_data = yaml.safe_load(run.recipe_file.read_text())
    recipe = load_recipe(run.recipe_file, check_files=False)
    out: dict[str, Any] = {"recipe": recipe_data, "libraries": library_versions()}
    data = getattr(recipe, "data", None)
    if data is not None:
        out["data"] = data_fingerprint(data)
    model = getattr(recipe, "model", None)
    if model is not None:
        out["model"] = model_fingerprint(model)
    parent = run.read_status().links.get("from_run_path")
    if parent:
        out["parent"] = parent_fingerprint(Path(parent))
    return out


def data_fingerprint(data: Any) -> dict[str, list[dict[str, Any]]]:
    """Per split, per source: its files with sizes, and the count and hash of the rows it contributes."""
    from tailor.engine.data.readers import iter_records
    from tailor.engine.data.sources import resolve

    out: dict[str, list[dict[str, Any]]] = {}
    for split in ("train", "eval"):
        for src in getattr(data, split) or []:
            entry: dict[str, Any] = {"path": src.path}
            try:
                resolved = resolve(src.path, split=src.split)
            except TailorError as exc:
                entry["missing"] = str(exc)
                out.setdefault(split, []).append(entry)
                continue
            if resolved.hub_id:
                entry["hub"] = resolved.hub_id  # the hub's rows are not read here: named, not hashed
            else:
                digest, rows = hashlib.sha256(), 0
                for record in _used_records((iter_records(f) for f in resolved.files), src.max_rows):
                    digest.update(json.dumps(record, sort_keys=True, default=str).encode())
                    rows += 1
                entry.update(files={str(f): f.stat().st_size for f in resolved.files}, rows=rows,
                             rows_sha256=digest.hexdigest())
            out.setdefault(split, []).append(entry)
    return out


def _used_records(files: Iterator[Iterator[Any]], max_rows: int | None) -> Iterator[dict[str, Any]]:
    """The parsed rows a source contributes, in order, up to ``max_rows`` readable ones."""
    taken = 0
    for records in files:
        for record in records:
            if record.data is None:
                continue
            yield record.data
            taken += 1
            if max_rows and taken >= max_rows:
                return


def model_fingerprint(spec: Any) -> dict[str, Any]:
    """The model's identity and the hashes of its config, tokenizer and chat template (weights by size)."""
    from tailor.engine.model_config import local_config

    out: dict[str, Any] = {"name_or_path": spec.name_or_path, "revision": spec.revision}
    found = local_config(spec.name_or_path, spec.revision, spec.gguf_file)
    folder = Path(found.source).parent if found.config is not None and found.source.endswith("config.json") else None
    template = spec.chat_template
    if folder is not None:
        out["config_sha256"] = _file_sha(folder / "config.json")
        out["tokenizer_sha256"] = _file_sha(folder / "tokenizer.json")
        out["weights"] = {p.name: p.stat().st_size for p in sorted(folder.glob("*.safetensors"))} or None
        template = template or _model_template(folder)
    out["chat_template_sha256"] = _text_sha(template) if template else None
    return out


def _model_template(folder: Path) -> str | None:
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    try:
        template = json.loads((folder / "tokenizer_config.json").read_text()).get("chat_template")
    except (OSError, ValueError):
        return None
    return template if isinstance(template, str) else json.dumps(template, sort_keys=True) if template else None


def parent_fingerprint(parent: Path) -> dict[str, Any]:
    """A chained run's parent: its run id and the hash of the fingerprint its final adapter recorded."""
    final = parent / "adapter" / FINGERPRINT_FILE
    return {"run": parent.name, "fingerprint_sha256": _file_sha(final), "step": _read(final).get("step")}


def library_versions() -> dict[str, str | None]:
    """Versions of the training stack in this interpreter, read without importing it."""
    from importlib import metadata

    from tailor import engine

    out: dict[str, str | None] = {"tailor": engine.__version__}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_fingerprint(folder: Path, fingerprint: dict[str, Any]) -> None:
    from tailor.engine.fsutil import atomic_write_json

    atomic_write_json(folder / FINGERPRINT_FILE, fingerprint)


# -- comparing ---------------------------------------------------------------------------------
def newest_checkpoint(run: RunDir) -> Path | None:
    """The newest checkpoint whose trainer_state.json is complete (a kill can tear the newest one); one
    definition of "complete" with the run directory's (``RunDir.last_checkpoint``)."""
    return run.last_checkpoint()


def resume_changes(run: RunDir, *, same_interpreter: bool = True) -> ResumeReport:
    """What changed between the newest checkpoint's fingerprint and what a resume would run now.

    A run without a fingerprinted checkpoint (none saved yet, or saved before fingerprints) has nothing to
    compare. ``same_interpreter``: the worker runs in this Python, so library versions are comparable."""
    checkpoint = newest_checkpoint(run)
    recorded = _read(checkpoint / FINGERPRINT_FILE) if checkpoint else {}
    if not recorded:
        return ResumeReport(checkpoint.name if checkpoint else None)
    now = light_fingerprint(run)
    report = ResumeReport(checkpoint.name if checkpoint else None, parent=recorded.get("parent"))
    report.changes += recipe_changes(recorded.get("recipe") or {}, now["recipe"])
    report.changes += _section_changes("data", recorded.get("data"), now.get("data"),
                                       "the rows trained on differ from the checkpoint's")
    # A model no longer found here (a cleared cache) is fetched again by the worker: compare what is known.
    model_now = {k: v for k, v in (now.get("model") or {}).items() if v is not None or k in ("revision",)}
    model_then = {k: v for k, v in (recorded.get("model") or {}).items() if k in model_now}
    report.changes += _section_changes("model", model_then, model_now,
                                       "the checkpoint was trained on another model or template")
    if same_interpreter:
        report.changes += [Change(f"libraries.{k}", v, now["libraries"].get(k), False, "other version")
                           for k, v in (recorded.get("libraries") or {}).items() if v != now["libraries"].get(k)]
    if recorded.get("parent") != now.get("parent"):
        report.changes.append(Change("parent", recorded.get("parent"), now.get("parent"), True,
                                     "the run this one started from changed"))
    spent = budget_spent(_read(checkpoint / "trainer_state.json") if checkpoint else {}, now["recipe"], recorded)
    if spent:
        report.changes.append(spent)
    return report


def recipe_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Field by field: cadence and budget are notes; anything else changes what is learned."""
    old, new = _flatten(before), _flatten(after)
    out = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) == new.get(key):
            continue
        if _is_under(key, HARMLESS):
            out.append(Change(key, old.get(key), new.get(key), False, "cadence only"))
        elif key in BUDGET:
            out.append(Change(key, old.get(key), new.get(key), False, "budget"))
        else:
            out.append(Change(key, old.get(key), new.get(key), True, "changes what is learned"))
    return out


def _section_changes(section: str, before: Any, after: Any, why: str) -> list[Change]:
    if before is None or after is None:
        return []
    old, new = _flatten(before, section), _flatten(after, section)
    return [Change(k, old.get(k), new.get(k), True, why) for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)]


def budget_spent(state: dict[str, Any], recipe: dict[str, Any], recorded: dict[str, Any]) -> Change | None:
    """A checkpoint at or past the budget a resume would train to: the trainer would only evaluate."""
    step, epoch = int(state.get("global_step") or 0), float(state.get("epoch") or 0.0)
    train = recipe.get("train") or {}
    max_steps = int(train.get("max_steps") or -1)
    if max_steps > 0:
        if step >= max_steps:
            return Change("train.max_steps", None, None, True,
                          f"budget spent: the checkpoint is at step {step} of {max_steps}, so resuming would skip "
                          "straight to evaluation")
        return None
    epochs = float(train.get("num_train_epochs") or (recorded.get("trl_args") or {}).get("num_train_epochs")
                   or TRL_DEFAULT_EPOCHS)
    if epoch and epoch + 1e-6 >= epochs:
        return Change("train.num_train_epochs", None, None, True,
                      f"budget spent: the checkpoint is at epoch {epoch:g} of {epochs:g}, so resuming would skip "
                      "straight to evaluation")
    return None


def check_resume(run: RunDir, *, accept_changes: bool = False, same_interpreter: bool = True) -> ResumeReport:
    """The report for a resume; raises ResumeRefused listing every refusal unless ``accept_changes``."""
    report = resume_changes(run, same_interpreter=same_interpreter)
    if report.refusals and not accept_changes:
        listed = "; ".join(str(c) for c in report.refusals)
        fixes = []
        if any(c.before is not None or c.after is not None for c in report.refusals):
            fixes.append("put back what changed (its data, its model, its recipe.yaml)")
        fixes += [f"raise {c.field} in {run.recipe_file}" for c in report.refusals if c.before is None and c.after is None]
        raise ResumeRefused(
            f"run {run.run_id} changed since {report.checkpoint}: {listed}. Fix: {', or '.join(fixes)}; or "
            f"`tailor resume {run.run_id} --accept-changes` to resume anyway (recorded in its events)"
        )
    return report


def record_report(run: RunDir, report: ResumeReport) -> None:
    """Write a resume's notes and accepted changes to the run's events (before its worker starts)."""
    if not report.changes:
        return
    with run.event_writer() as events:
        for change in report.changes:
            verb = "accepted change" if change.refuse else "note"
            events.emit("log", level="warning" if change.refuse else "info",
                        message=f"{RESUME_PREFIX}{report.checkpoint}: {verb}: {change}")


RESUME_PREFIX = "resume since "


def resume_notes(events: list[dict[str, Any]]) -> list[str]:
    """The notes and accepted changes the latest resume recorded, from a run's events (for the CLI)."""
    starts = [i for i, e in enumerate(events) if e.get("type") == "status" and e.get("resume")]
    later = events[starts[-1] + 1:] if starts else []
    return [e["message"] for e in later if e.get("type") == "log" and str(e.get("message")).startswith(RESUME_PREFIX)]


def check_lines(run: RunDir, report: ResumeReport) -> list[str]:
    """``tailor resume --check``: what a resume would compare, and what it found (nothing is started)."""
    if report.checkpoint is None:
        return [f"{run.run_id}: no checkpoint yet: a resume starts over"]
    if not (run.checkpoints_dir / report.checkpoint / FINGERPRINT_FILE).exists():
        return [f"{run.run_id}: {report.checkpoint} has no fingerprint (saved before resume checks): nothing to compare"]
    lines = [f"{run.run_id}: since {report.checkpoint}: "
             + (f"{len(report.refusals)} refused, {len(report.notes)} notes" if report.changes else "nothing changed")]
    if report.parent:
        sha = str(report.parent.get("fingerprint_sha256") or "?")[:8]
        lines.append(f"  parent: run {report.parent.get('run')} (its final fingerprint {sha}, step {report.parent.get('step')})")
    lines += [f"  {'refused' if c.refuse else 'note'}: {c}" for c in report.changes]
    return lines


# -- helpers -----------------------------------------------------------------------------------
def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _is_under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _short(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:8]  # a sha256
    return text if len(text) <= 40 else text[:37] + "..."


def _file_sha(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
