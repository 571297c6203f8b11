"""The model card (``README.md``) written beside every export and pushed with it to the Hub.

It says what the model is and how it was made, from the run directory alone: the base model, the data
files with their row counts, the recipe, the final metrics (events.jsonl) and the evaluation table
(``eval/results.json``) when the run has one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tailor.engine.runs.rundir import RunDir


def _rows(path: str, max_rows: int | None) -> str:
    """Rows of a local data file (JSON lines: non-empty lines; JSON: list length); '?' when unknown."""
    file = Path(path)
    count: int | None = None
    try:
        if file.suffix == ".jsonl":
            with file.open(encoding="utf-8") as handle:
                count = sum(1 for line in handle if line.strip())
        elif file.suffix == ".json":
            data = json.loads(file.read_text(encoding="utf-8"))
            count = len(data) if isinstance(data, list) else None
    except (OSError, ValueError):
        count = None
    if count is None:
        return "?" if max_rows is None else f"≤ {max_rows}"
    return str(min(count, max_rows) if max_rows else count)


def data_rows(recipe: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(split, path, rows) for each data source of the recipe."""
    out = []
    data = recipe.get("data") or {}
    for split in ("train", "eval"):
        sources = data.get(split) or []
        for src in [sources] if isinstance(sources, str | dict) else sources:
            spec = {"path": src} if isinstance(src, str) else src
            max_rows = spec.get("max_rows")
            out.append((split, str(spec.get("path")), _rows(str(spec.get("path")), max_rows if isinstance(max_rows, int) else None)))
    return out


def final_metrics(run: RunDir) -> dict[str, float]:
    """The last value of every metric the run reported (``eval_`` prefixed for the eval split)."""
    last: dict[str, float] = {}
    for event in run.events():
        if event.get("type") == "metric":
            prefix = "eval_" if event.get("split") == "eval" else ""
            for key, value in (event.get("values") or {}).items():
                if isinstance(value, int | float):
                    last[key if key.startswith(prefix) else prefix + key] = float(value)
    return last


def eval_table(run: RunDir) -> str | None:
    from tailor.engine.eval.results import has_results, load_results
    from tailor.engine.eval.table import build_table, to_markdown

    if not has_results(run.eval_dir):
        return None
    try:
        return to_markdown(build_table(load_results(run.eval_dir)))
    except Exception:  # a damaged results file never stops an export
        return None


def render(run: RunDir, *, kind: str, base_model: str, extra: str = "") -> str:
    """The card's Markdown (with the Hub's YAML front matter)."""
    recipe = yaml.safe_load(run.recipe_file.read_text(encoding="utf-8")) or {}
    library = "peft" if kind == "adapter" else "transformers"
    tags = ["tailor", str(recipe.get("kind", "")), str(recipe.get("method", "lora"))] + (["gguf"] if kind == "gguf" else [])
    front = {"base_model": base_model, "library_name": library, "tags": tags}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "", f"# {run.run_id}", ""]
    if recipe.get("description"):
        lines += [str(recipe["description"]), ""]
    what = {"adapter": "a PEFT adapter", "merged": "a merged model", "model": "a fine-tuned model", "gguf": "a GGUF file"}.get(kind, kind)
    lines += [f"{what.capitalize()} fine-tuned with [Tailor](https://pypi.org/project/tailor-tui/) "
              f"({recipe.get('kind', '?')}, method {recipe.get('method', 'lora')}) from **{base_model}**.", ""]
    rows = data_rows(recipe)
    if rows:
        lines += ["## Data", "", "| split | file | rows |", "|---|---|---|"]
        lines += [f"| {split} | `{Path(path).name}` | {count} |" for split, path, count in rows]
        lines.append("")
    metrics = final_metrics(run)
    if metrics:
        lines += ["## Final metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items())]
        lines.append("")
    table = eval_table(run)
    if table:
        lines += ["## Evaluation", "", table, ""]
    if extra:
        lines += [extra.rstrip(), ""]
    lines += ["## Recipe", "", "```yaml", run.recipe_file.read_text(encoding="utf-8").rstrip(), "```", ""]
    return "\n".join(lines)


def write(run: RunDir, folder: Path, *, kind: str, base_model: str, extra: str = "") -> Path:
    path = folder / "README.md"
    path.write_text(render(run, kind=kind, base_model=base_model, extra=extra), encoding="utf-8")
    return path
