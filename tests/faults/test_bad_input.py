"""Items 12, 16-21: every bad input is one clear line, exit 2, no traceback, nothing written."""

from __future__ import annotations

import pytest

from faults.bad_inputs import CASES, Case, try_case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_clearly(case: Case, workspace, tmp_path) -> None:
    verdict, err = try_case(case, workspace.root, tmp_path / "in")
    assert verdict == "clear", f"{verdict}: {err}"


def test_unmatched_target_modules_are_refused_with_the_model_names() -> None:
    from tailor.engine.errors import RecipeError
    from tailor.engine.models.loading import load_model, resolve_model_path
    from tailor.engine.recipes.common import ModelSpec
    from tailor.engine.train.methods import check_target_modules

    model = load_model(ModelSpec(name_or_path="tailor/tiny", dtype="float32"), resolve_model_path("tailor/tiny"))
    check_target_modules(model, ["q_proj", "v_proj"])
    with pytest.raises(RecipeError, match=r"lora.target_modules: qproj, w_out match no module.*q_proj"):
        check_target_modules(model, ["q_proj", "qproj", "w_out"])
