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


def test_run_refuses_what_check_refuses_before_a_run_exists(workspace, tmp_path) -> None:
    """`tailor run` runs the whole of --check first: every data row as the trainer reads it, the model,
    and lora.target_modules against the model's modules (built on the meta device in a child process)."""
    from click.testing import CliRunner

    from tailor.tui.cli import cli

    lines = (workspace.root / "data" / "reverse" / "train.jsonl").read_text().splitlines()
    lines[499] = '{"prompt": [{"role": "user", "content": "Reverse: abc"}], "completion": []}'
    lines[701] = '{"prompt": [{"role": "wizard", "content": "x"}], "completion": [{"role": "assistant", "content": "y"}]}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    run = ["-w", str(workspace.root), "run", "demo-sft"]
    out = runner.invoke(cli, [*run, "-s", f"data.train={bad}"])
    assert out.exit_code == 2, out.output
    assert "bad.jsonl" in out.output and ":500" in out.output and ":702" in out.output and "2 rows in all" in out.output
    out = runner.invoke(cli, [*run, "-s", "model.name_or_path=/nowhere/model"])
    assert out.exit_code == 2 and "model folder '/nowhere/model' does not exist" in out.output
    out = runner.invoke(cli, [*run, "--check", "-s", "lora.target_modules=[q_proj, qproj]"])
    assert out.exit_code == 2 and "lora.target_modules: qproj match no module of this model" in out.output
    assert "q_proj" in out.output.split("its linear modules are")[1]
    assert not any(workspace.runs_dir.iterdir())  # nothing was launched
    out = runner.invoke(cli, [*run, "--check", "-s", "lora.target_modules=[q_proj, v_proj]"])
    assert out.exit_code == 0, out.output


def test_a_host_refuses_a_model_it_does_not_have_before_the_run_exists(tmp_path) -> None:
    """The host side of a remote launch checks what only the host can answer (its model, its modules)."""
    import json
    import subprocess
    import sys

    from tailor.engine.runs.status import Status

    status = Status(run_id="r-20260101-000000-abcd", kind="sft", name="r")
    payload = {"run_id": status.run_id, "status": status.model_dump(mode="json"),
               "recipe": "kind: sft\nmodel: /nowhere/model\ndata:\n  train: /x/train.jsonl\n"}
    out = subprocess.run([sys.executable, "-m", "tailor.engine.remote", "launch", "--ws", str(tmp_path / "ws")],
                         input=json.dumps(payload), capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    error = json.loads(out.stdout)["error"]
    assert "model folder '/nowhere/model' does not exist" in error, error
    assert not any((tmp_path / "ws" / "runs").iterdir())
