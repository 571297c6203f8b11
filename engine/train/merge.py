"""``kind: merge``: combine finished runs' LoRA adapters with PEFT's ``add_weighted_adapter``, in a worker.

Each source is resolved the way evaluation resolves runs (engine/eval/candidates.py: base model and the
adapters folded in before it), so adapters of the same chain merge and anything else is refused before
a model is loaded: different bases or chains, full models, non-LoRA adapters, and ``modules_to_save``
(PEFT cannot combine full module copies). The merged adapter is saved as the run's ``adapter/`` with a
``tailor_lineage.json``, so the run is evaluated, chained from and exported like a trained one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine.errors import RecipeError, RunError

if TYPE_CHECKING:
    from tailor.engine.eval.candidates import Candidate
    from tailor.engine.recipes.merge import MergeRecipe
    from tailor.engine.worker.context import WorkerContext


def resolve_sources(recipe: MergeRecipe, ctx: WorkerContext) -> list[Candidate]:
    """The source runs as evaluation candidates, checked to be LoRA adapters of one base."""
    from tailor.engine.eval.candidates import run_candidate
    from tailor.engine.runs.lookup import find_run
    from tailor.engine.runs.status import RunState
    from tailor.engine.workspace import workspace_of

    where = f"{ctx.run.recipe_file}: adapters"
    ws = workspace_of(ctx.run)
    cands: list[Candidate] = []
    for src in recipe.adapters:
        try:
            run = find_run(ws, src.run)
            state = run.read_status().state
            if state != RunState.SUCCEEDED:
                raise RunError(f"run {run.run_id} is {state.value}; merge succeeded runs")
            cand = run_candidate(ws, str(run.path))
        except RunError as exc:
            raise RunError(f"{where}: {src.run}: {exc}") from None
        assert cand.path is not None
        config_file = cand.path / "adapter_config.json"
        if not config_file.is_file():
            raise RunError(f"{where}: run {cand.label} saved a full model (method full/partial); only LoRA adapters merge")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.get("peft_type") != "LORA":
            raise RunError(f"{where}: run {cand.label} is a {config.get('peft_type')} adapter; only LoRA adapters merge")
        if config.get("modules_to_save"):
            raise RunError(
                f"{where}: run {cand.label} trains full copies of {', '.join(config['modules_to_save'])} (lora.modules_to_save); "
                "PEFT cannot combine those between adapters — merge adapters trained without modules_to_save"
            )
        cands.append(cand)
    first = cands[0]
    for cand in cands[1:]:
        if (cand.base.name_or_path, cand.base.revision) != (first.base.name_or_path, first.base.revision):
            raise RunError(
                f"{where}: different bases: {first.label} was trained on {first.base.name_or_path}, "
                f"{cand.label} on {cand.base.name_or_path}; adapters merge only onto the model they were trained on"
            )
        if [str(p) for p in cand.merge_first] != [str(p) for p in first.merge_first]:
            raise RunError(f"{where}: {first.label} and {cand.label} were trained on top of different earlier runs (from_run chains)")
    if recipe.model.name_or_path != first.base.name_or_path and not first.merge_first:
        raise RecipeError(
            f"{ctx.run.recipe_file}: model: {recipe.model.name_or_path}, but the adapters were trained on "
            f"{first.base.name_or_path}; set model: {first.base.name_or_path} (`tailor merge` fills it in)"
        )
    return cands


def run_merge(recipe: MergeRecipe, ctx: WorkerContext) -> None:
    from tailor.engine.train.loop import quiet_libraries

    quiet_libraries()
    from peft import PeftModel

    from tailor.engine.fsutil import atomic_write_json
    from tailor.engine.models.loading import load_model, load_tokenizer, resolve_model_path
    from tailor.engine.train.loop import REFERENCE_FILE, save_reference_logits

    cands = resolve_sources(recipe, ctx)
    ctx.link(merged_from=[c.run_id for c in cands])
    first = cands[0]
    ctx.log(f"merging {len(cands)} adapters ({recipe.combination_type}) onto {first.base.name_or_path}")
    ctx.progress(0, 1, force=True)
    model = load_model(first.base, resolve_model_path(first.base.name_or_path))
    assert first.path is not None
    tokenizer = load_tokenizer(first.base, str(first.path) if (first.path / "tokenizer_config.json").exists() else None)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    for parent in first.merge_first:
        model = PeftModel.from_pretrained(model, str(parent)).merge_and_unload()
    names = [f"source{i}" for i in range(len(cands))]
    peft_model: PeftModel = PeftModel.from_pretrained(model, str(first.path), adapter_name=names[0])
    for name, cand in zip(names[1:], cands[1:], strict=True):
        peft_model.load_adapter(str(cand.path), adapter_name=name)
    kwargs: dict[str, Any] = {"combination_type": recipe.combination_type, "majority_sign_method": recipe.majority_sign_method}
    if recipe.density is not None:
        kwargs["density"] = recipe.density
    if recipe.svd_rank is not None:
        kwargs["svd_rank"] = recipe.svd_rank
    try:
        peft_model.add_weighted_adapter(names, [s.weight for s in recipe.adapters], "merged", **kwargs)
    except ValueError as exc:  # PEFT says why (different ranks for linear, targets...)
        raise RunError(f"{ctx.run.recipe_file}: PEFT cannot merge these adapters with {recipe.combination_type}: {exc}") from None
    peft_model.set_adapter("merged")
    for name in names:
        peft_model.delete_adapter(name)
    run = ctx.run
    tmp = run.path / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model.save_pretrained(str(tmp), selected_adapters=["merged"])
    saved = tmp / "merged" if (tmp / "merged" / "adapter_config.json").is_file() else tmp
    tokenizer.save_pretrained(str(saved))
    atomic_write_json(saved / "tailor_lineage.json", {
        "base_model": first.base.name_or_path,
        "merge_first": [str(p) for p in first.merge_first],
        "merged_from": [str(c.path) for c in cands],
        "combination_type": recipe.combination_type,
        "method": "lora",
    })
    if run.adapter_dir.exists():
        shutil.rmtree(run.adapter_dir)
    Path(saved).rename(run.adapter_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    ctx.artifact("adapter", run.adapter_dir, method="lora", base_model=first.base.name_or_path)
    peft_model.eval()
    try:
        save_reference_logits(peft_model, tokenizer, run.eval_dir / REFERENCE_FILE)
    except Exception as exc:  # a check for export, never a reason to fail the merge
        ctx.log(f"could not record reference logits: {exc}", "warning")
    ctx.progress(1, 1, force=True)
