"""kind: dpo recipes: the trainer picks the TRL config class, and every misuse gets one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.engine.errors import RecipeError
from tailor.engine.recipes import dump_recipe, load_recipe, parse_recipe
from tailor.engine.recipes.dpo import DPO_LOSSES, DPORecipe

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def recipe_dir(tmp_path: Path) -> Path:
    (tmp_path / "prefs.jsonl").write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
    return tmp_path


def load_text(recipe_dir: Path, text: str) -> DPORecipe:
    path = recipe_dir / "r.yaml"
    path.write_text("kind: dpo\ndata: {train: prefs.jsonl}\n" + text)
    recipe = load_recipe(path)
    assert isinstance(recipe, DPORecipe)
    return recipe


def error_of(recipe_dir: Path, text: str) -> str:
    with pytest.raises(RecipeError) as info:
        load_text(recipe_dir, text)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(recipe_dir / "r.yaml"))
    return message


def test_defaults_are_plain_dpo_with_lora(recipe_dir: Path) -> None:
    recipe = load_text(recipe_dir, "")
    assert (recipe.trainer, recipe.method, recipe.losses, recipe.from_run) == (
        "dpo",
        "lora",
        ["sigmoid"],
        None,
    )
    assert recipe.trl_config_class == "DPOConfig" and recipe.data_task == "preference"
    assert recipe.trl_args() == {
        "beta": 0.1,
        "loss_type": ["sigmoid"],
        "label_smoothing": 0.0,
        "precompute_ref_log_probs": False,
    }


def test_loss_combinations_with_weights(recipe_dir: Path) -> None:
    recipe = load_text(
        recipe_dir, "beta: 0.2\nloss_type: [sigmoid, bco_pair, sft]\nloss_weights: [0.8, 0.2, 1.0]\n"
    )
    args = recipe.trl_args()
    assert args["loss_type"] == ["sigmoid", "bco_pair", "sft"] and args["loss_weights"] == [0.8, 0.2, 1.0]
    robust = load_text(
        recipe_dir, "loss_type: robust\nlabel_smoothing: 0.1\nprecompute_ref_log_probs: true\n"
    )
    assert (
        robust.trl_args()["label_smoothing"] == 0.1 and robust.trl_args()["precompute_ref_log_probs"] is True
    )


@pytest.mark.parametrize("loss", DPO_LOSSES)
def test_every_trl_dpo_loss_is_accepted(recipe_dir: Path, loss: str) -> None:
    extra = "label_smoothing: 0.001\n" if loss == "exo_pair" else ""
    assert load_text(recipe_dir, f"loss_type: {loss}\n{extra}").losses == [loss]


def test_each_trainer_validates_train_against_its_own_config(recipe_dir: Path) -> None:
    kto = load_text(recipe_dir, "trainer: kto\ntrain:\n  desirable_weight: 1.5\n  undesirable_weight: 1.0\n")
    assert kto.trl_config_class == "KTOConfig" and kto.data_task == "unpaired_preference"
    assert kto.trl_args() == {"beta": 0.1, "loss_type": "kto", "precompute_ref_log_probs": False}
    orpo = load_text(recipe_dir, "trainer: orpo\nbeta: 0.25\ntrain:\n  max_completion_length: 32\n")
    assert orpo.trl_config_class == "ORPOConfig" and orpo.trl_args() == {"beta": 0.25}
    dpo = load_text(recipe_dir, "train:\n  use_weighting: true\n  f_divergence_type: js_divergence\n")
    assert dpo.train == {"use_weighting": True, "f_divergence_type": "js_divergence"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "train:\n  desirable_weight: 2\n",
            "r.yaml:4: train.desirable_weight: is a KTOConfig field; it needs trainer: kto",
        ),
        (
            "trainer: kto\ntrain:\n  loss_weights: [1]\n",
            "train.loss_weights: set it as the top-level `loss_weights:`",
        ),
        (
            "trainer: kto\ntrain:\n  use_weighting: true\n",
            "train.use_weighting: is a DPOConfig field; it needs trainer: dpo",
        ),
        (
            "trainer: orpo\ntrain:\n  precompute_ref_batch_size: 4\n",
            "train.precompute_ref_batch_size: is a DPOConfig field",
        ),
        ("train:\n  beta: 0.5\n", "r.yaml:4: train.beta: set it as the top-level `beta:` of the recipe"),
        ("train:\n  betta: 0.5\n", "train.betta: unknown DPOConfig field; did you mean 'beta'?"),
        ("trainer: ppo\n", "r.yaml:3: trainer: Input should be 'dpo', 'kto' or 'orpo'"),
        ("beta: 0\n", "r.yaml:3: beta: Input should be greater than 0"),
        (
            "loss_type: sigmod\n",
            "r.yaml:3: loss_type: unknown DPO loss 'sigmod'; use one of sigmoid, hinge, ipo",
        ),
        ("loss_type: []\n", "loss_type: give at least one loss"),
        ("loss_type: [sigmoid, sigmoid]\n", "loss_type: a loss is listed twice"),
        (
            "loss_type: [sigmoid, sft]\nloss_weights: [1.0]\n",
            "r.yaml:4: loss_weights: has 1 weights for 2 loss_type entries",
        ),
        (
            "loss_type: robust\nlabel_smoothing: 0.5\n",
            "label_smoothing: the robust loss needs a flip probability below 0.5",
        ),
        ("loss_type: exo_pair\n", "label_smoothing: the exo_pair loss needs label_smoothing > 0"),
        ("label_smoothing: 1.5\n", "label_smoothing: Input should be less than 1"),
        (
            "trainer: kto\nloss_type: sigmoid\n",
            "loss_type: unknown KTO loss 'sigmoid'; use one of kto, apo_zero_unpaired",
        ),
        ("trainer: kto\nloss_type: [kto, apo_zero_unpaired]\n", "loss_type: KTO takes a single loss"),
        (
            "trainer: kto\nloss_weights: [1.0]\n",
            "loss_weights: applies to trainer dpo only, not kto; remove it",
        ),
        ("trainer: kto\nlabel_smoothing: 0.1\n", "label_smoothing: applies to trainer dpo only, not kto"),
        (
            "trainer: kto\ntrain: {per_device_train_batch_size: 1}\n",
            "train.per_device_train_batch_size: the kto loss needs a batch of 2",
        ),
        (
            "trainer: kto\ntrain: {train_sampling_strategy: random}\n",
            "train.train_sampling_strategy: the kto loss needs 'sequential'",
        ),
        ("trainer: orpo\nloss_type: sigmoid\n", "loss_type: ORPO has a single built-in loss"),
        (
            "trainer: orpo\nprecompute_ref_log_probs: true\n",
            "precompute_ref_log_probs: applies to trainer dpo / kto only, not orpo",
        ),
        ("trainer: orpo\nref_model: tailor/tiny\n", "ref_model: applies to trainer dpo / kto only, not orpo"),
        ("train: {sync_ref_model: true}\n", "train.sync_ref_model: not supported with method lora"),
        ("from_run: '  '\n", "from_run: must name a run"),
        ("from_run: sft-1\nfrom_run_mode: fold\n", "from_run_mode: Input should be 'merge' or 'stack'"),
        (
            "method: full\nfrom_run: sft-1\nfrom_run_mode: stack\n",
            "from_run_mode: stack keeps training the run's adapter, which needs a PEFT method, not full",
        ),
        ("refmodel: tailor/tiny\n", "refmodel: unknown key; did you mean 'ref_model'?"),
    ],
)
def test_misuse_is_one_line_naming_the_field(recipe_dir: Path, text: str, expected: str) -> None:
    message = error_of(recipe_dir, text)
    assert expected in message, message


def test_full_fine_tuning_with_a_reference_and_chaining(recipe_dir: Path) -> None:
    recipe = load_text(
        recipe_dir,
        "method: full\nref_model: tailor/tiny\ntrain: {sync_ref_model: true}\nfrom_run: sft-run-1\n",
    )
    assert recipe.ref_model is not None and recipe.ref_model.name_or_path == "tailor/tiny"
    assert (recipe.from_run, recipe.from_run_mode) == ("sft-run-1", "merge")


def test_frozen_recipe_round_trips(recipe_dir: Path) -> None:
    recipe = load_text(
        recipe_dir, "trainer: kto\nbeta: 0.3\nfrom_run: abc\nfrom_run_mode: stack\ntrain: {max_steps: 3}\n"
    )
    again = parse_recipe(dump_recipe(recipe), check_files=False)
    assert again == recipe


@pytest.mark.parametrize("name", ["demo-dpo.yaml", "demo-kto.yaml"])
def test_packaged_demo_recipes_validate(name: str, workspace) -> None:
    recipe = load_recipe(workspace.recipes_dir / name)
    assert isinstance(recipe, DPORecipe)
    assert all(Path(src.path).is_file() for src in recipe.data.train)
