"""Start a preference run from an earlier run (``from_run``): find it, check it, and build the policy.

Two modes (``from_run_mode``):

- ``merge``: the run's adapter is folded into the base weights; the recipe's ``method`` then trains on top
  (a new LoRA adapter, or every weight for ``full``). The merged model is the reference.
- ``stack``: the run's adapter stays an adapter and keeps training; TRL keeps a frozen copy of it as the
  reference adapter, so the reference is again the starting model. The recipe's ``lora:`` is not used.
  Its optimizer starts fresh: at a rate tuned for a new adapter (whose B is zero, so the first steps barely
  move the model) both trained LoRA matrices move at once (the demo at 3e-3: held-out exact match
  0.96 -> 0.44, where ``merge`` keeps it), so a stacked run wants a preference-sized learning rate.

A run that saved a full model (``method: full`` or ``partial``) is simply the new base (``merge`` only).
Adapters that earlier runs merged (a chain of chains) are found the same way evaluation finds them
(``tailor.engine.eval.candidates``), so what trains here and what is evaluated later agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.engine import kinds
from tailor.engine.errors import RecipeError, RunError
from tailor.engine.runs.rundir import RunDir
from tailor.engine.runs.status import RunState

if TYPE_CHECKING:
    from peft import PeftConfig, PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from tailor.engine.recipes.dpo import DPORecipe
    from tailor.engine.recipes.grpo import GRPORecipe
    from tailor.engine.worker.context import WorkerContext
    from tailor.engine.workspace import Workspace

    # (model, tokenizer, peft_config) to hand to a TRL trainer; the model may already be a PeftModel.
    Policy = tuple[PreTrainedModel | PeftModel, PreTrainedTokenizerBase, PeftConfig | None]


@dataclass
class Source:
    """The run a recipe starts from, resolved in the worker."""

    run: RunDir
    mode: str
    folder: Path  # its adapter/ (an adapter, or a full model)
    base_name: str  # the base model its chain started from
    merge_first: list[Path] = field(default_factory=list)  # adapters to fold into the base before ``folder``

    @property
    def full_model(self) -> bool:
        return not (self.folder / "adapter_config.json").exists()

    def links(self) -> dict[str, Any]:
        """Lineage for status.json (``links``), so the TUI and evaluation can show and follow it."""
        return {
            "from_run": self.run.run_id,
            "from_run_path": str(self.run.path),
            "from_run_mode": self.mode,
            "from_run_kind": self.run.read_status().kind,
        }


def resolve_source(recipe: DPORecipe | GRPORecipe, ctx: WorkerContext) -> Source:
    """The finished sft/dpo run named by ``recipe.from_run`` (id, unique prefix or folder), checked."""
    from tailor.engine.eval.candidates import run_candidate
    from tailor.engine.runs.lookup import find_run, is_latest, latest_run
    from tailor.engine.workspace import workspace_of

    assert recipe.from_run is not None, "only called for a recipe with from_run"
    where = f"{ctx.run.recipe_file}: from_run"
    ws = workspace_of(ctx.run)
    # A resumed run keeps the parent it started from, even when `latest:NAME` now means a newer run.
    recorded = ctx.status.links.get("from_run_path") if ctx.resume else None
    try:
        if recorded and Path(recorded, "status.json").exists():
            run = RunDir(Path(recorded))
        elif is_latest(recipe.from_run):
            found = latest_run(ws, recipe.from_run)
            if found is None:
                named = recipe.from_run.partition(":")[2]
                raise RunError(f"no succeeded {kinds.either(kinds.model_producing())} run"
                               f"{' named ' + named if named else ''} yet; train one first")
            run = found
        else:
            run = find_run(ws, recipe.from_run)
        status = run.read_status()
    except RunError as exc:
        raise RunError(f"{where}: {exc}") from None
    if run.path.resolve() == ctx.run.path.resolve():
        raise RunError(f"{where}: a run cannot start from itself")
    parents = kinds.either(kinds.model_producing())
    if status.kind not in kinds.model_producing():
        raise RunError(f"{where}: run {run.run_id} is a {status.kind} run; start from an {parents} run")
    if status.state != RunState.SUCCEEDED:
        raise RunError(f"{where}: run {run.run_id} is {status.state.value}; start from a succeeded {parents} run")
    try:
        cand = run_candidate(ws, str(run.path))
    except RunError as exc:
        raise RunError(f"{where}: {exc}") from None
    assert cand.path is not None
    source = Source(run, recipe.from_run_mode, cand.path, cand.base.name_or_path, list(cand.merge_first))
    if source.base_name != recipe.model.name_or_path and not _full_model_of_a_run(source.base_name, ws):
        raise RecipeError(
            f"{ctx.run.recipe_file}: model: {recipe.model.name_or_path!r} is not {source.base_name!r}, the base model "
            f"of run {run.run_id}; a chained run trains on the same base (set model: {source.base_name})"
        )
    if source.full_model and source.mode == "stack":
        raise RecipeError(
            f"{ctx.run.recipe_file}: from_run_mode: run {run.run_id} saved a full model, not an adapter, so there is "
            "nothing to stack on; use from_run_mode: merge"
        )
    if recipe.method == "qlora" and source.mode == "merge" and not source.full_model:
        raise RecipeError(
            f"{ctx.run.recipe_file}: from_run_mode: merging an adapter into a 4-bit (qlora) base loses precision; "
            "use from_run_mode: stack, or method: lora"
        )
    return source


def _full_model_of_a_run(folder: str, ws: Workspace) -> bool:
    """True for a full model saved by a run of this workspace: a chain that started from one trains on it."""
    path = Path(folder)
    return path.is_dir() and (path / "config.json").exists() and ws.runs_dir.resolve() in path.resolve().parents


def chained_model(recipe: DPORecipe | GRPORecipe, ctx: WorkerContext, source: Source) -> Policy:
    """(model, tokenizer, peft_config) for a recipe that starts from ``source``.

    ``peft_config`` is None when the returned model already is the trainable PeftModel (``stack``) or the
    method trains plain weights (``full``, ``partial``).
    """
    from peft import PeftModel

    from tailor.engine.models.loading import check_qlora_possible, load_model, load_tokenizer, spec_path
    from tailor.engine.train.methods import build_peft_config, freeze_for_partial

    if recipe.method == "qlora":
        check_qlora_possible()
    # The tokenizer the source run saved carries its chat template; the recipe's own template still wins.
    tok_dir = str(source.folder) if (source.folder / "tokenizer_config.json").exists() else None
    tokenizer = load_tokenizer(recipe.model, tok_dir)
    quant = recipe.quantization if recipe.method == "qlora" else None
    # A chain that started from a run's full model trains on that model, whatever the recipe's model names.
    path = source.base_name if source.base_name != recipe.model.name_or_path else spec_path(recipe.model)
    if source.full_model:
        ctx.log(f"from_run {source.run.run_id}: starting from its full model")
        model = load_model(recipe.model, str(source.folder), quantization=quant)
    else:
        model = load_model(recipe.model, path, quantization=quant)
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer))  # the source run added tokens
        for folder in source.merge_first:
            model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
        if source.mode == "merge":
            ctx.log(
                f"from_run {source.run.run_id}: merged its adapter into the base; training a new {recipe.method}"
            )
            model = PeftModel.from_pretrained(model, str(source.folder)).merge_and_unload()
        else:
            ctx.log(
                f"from_run {source.run.run_id}: training its adapter further (the recipe's lora: is not used)"
            )
    if recipe.method == "qlora":
        from peft import prepare_model_for_kbit_training

        gc = bool(recipe.train.get("gradient_checkpointing", True))
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gc)
    if source.mode == "stack":
        return PeftModel.from_pretrained(model, str(source.folder), is_trainable=True), tokenizer, None
    if recipe.method == "partial":
        freeze_for_partial(model, recipe.partial, ctx)
    return model, tokenizer, build_peft_config(recipe, path)


def model_for(recipe: DPORecipe | GRPORecipe, ctx: WorkerContext, source: Source | None) -> Policy:
    """(model, tokenizer, peft_config) to train: the parent run's result, linked, when the recipe chains
    (``source`` from :func:`resolve_source`), else the recipe's own model and method."""
    if source is not None:
        ctx.link(**source.links())
        return chained_model(recipe, ctx, source)
    from tailor.engine.train.methods import setup_model

    loaded = setup_model(recipe, ctx)
    return loaded.model, loaded.tokenizer, loaded.peft_config


def write_lineage(ctx: WorkerContext, source: Source | None, recipe: DPORecipe | GRPORecipe) -> None:
    """``adapter/tailor_lineage.json``: what the saved adapter must be applied to, for export and sharing."""
    from tailor.engine.fsutil import atomic_write_json

    folder = ctx.run.adapter_dir
    if source is None or not folder.is_dir():
        return
    merge_first = [str(p) for p in source.merge_first]
    base = source.base_name
    if source.full_model:
        base, merge_first = str(source.folder), []
    elif source.mode == "merge":
        merge_first.append(str(source.folder))
    atomic_write_json(
        folder / "tailor_lineage.json",
        {"base_model": base, "merge_first": merge_first, **source.links(), "method": recipe.method},
    )
