"""The launch form's fit check: the memory estimate follows the recipe and overrides, and an estimate over
the target's free GPU memory is a warning that needs a second ctrl+s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from textual.widgets import Input
from tui_helpers import make_app, wait_runs_loaded, wait_until

from tailor.tui.screens.launch import (
    GpuBudget,
    LaunchRequest,
    LaunchScreen,
    estimate_text,
    fit_check,
    fit_estimate,
    local_gpu_budget,
)
from tailor.tui.screens.launch_checks import FitEstimated

SIZE = (80, 24)
# A Llama-7B-like shape: a local model folder needs only its config.json for the estimate.
BIG_CONFIG = {
    "hidden_size": 4096, "num_hidden_layers": 32, "vocab_size": 32000, "intermediate_size": 11008,
    "num_attention_heads": 32, "hidden_act": "silu", "tie_word_embeddings": False,
}


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def open_form(pilot, results: list) -> LaunchScreen:
    """The launch form over demo-sft, its result collected (so no run is started), estimate shown."""
    await wait_runs_loaded(pilot, 0)
    form = LaunchScreen(launch=False)
    pilot.app.push_screen(form, results.append)
    await wait_until(pilot, lambda: form.current is not None and form.current.path.stem == "demo-sft")
    await wait_until(pilot, lambda: form.fit is not None, what="the first estimate")
    return form


async def set_field(pilot, form: LaunchScreen, name: str, value: str) -> str:
    """Type ``value`` into a field; return the estimate line once it is recomputed for it."""
    form.query_one(f"#launch-{name}", Input).value = value
    await wait_until(
        pilot,
        lambda: form.fit is not None and dict(form.fit_key[1]).get(name) == value,
        what=f"the estimate for {name}={value!r}",
    )
    return text(form, "#launch-fit")


async def test_estimate_follows_recipe_r_and_model(workspace, tmp_path):
    big = tmp_path / "big-model"
    big.mkdir()
    (big / "config.json").write_text(json.dumps(BIG_CONFIG))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, [])
        form.set_gpu_budget(GpuBudget("local", cpu=True))
        first = text(form, "#launch-fit")
        assert first.startswith("GPU memory ~") and "lora:" in first and "trains " in first
        await wait_until(pilot, lambda: text(form, "#launch-fit-check") == "CPU: no GPU memory check")

        wider = await set_field(pilot, form, "r", "64")  # a bigger adapter: more trainable parameters
        assert wider != first and wider.startswith("GPU memory ~")
        assert wider.split("trains ")[1] != first.split("trains ")[1]

        on_big = await set_field(pilot, form, "model", str(big))  # a local folder: its config.json
        gib = float(on_big.split("~")[1].split()[0])
        assert gib > 20, on_big  # fp32 7B weights alone are ~25 GiB
        assert "B params" in on_big

        assert (await set_field(pilot, form, "model", "nobody/unknown-model")) == (
            "estimate unavailable: no config.json found for nobody/unknown-model: not cached, "
            "offline (HF_HUB_OFFLINE); no size in its name"  # the suite runs offline
        )
        assert text(form, "#launch-fit-check") == ""  # nothing to compare
        assert (await set_field(pilot, form, "r", "eight")).startswith("estimate unavailable: LoRA r:")

        await set_field(pilot, form, "model", "")
        assert (await set_field(pilot, form, "r", "")) == first  # back to the recipe's own values
        await pilot.press("escape")


async def test_over_budget_warns_and_needs_a_second_ctrl_s(workspace):
    results: list = []
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, results)
        form.set_gpu_budget(GpuBudget("test GPU", [512]))  # 0.5 GiB free: tailor/tiny needs ~1 GiB
        check = form.query_one("#launch-fit-check")
        assert form.fit_state == "over" and check.has_class("-over")
        assert text(form, "#launch-fit-check").startswith("may not fit: needs ~1.")
        assert "0.5 GiB free (test GPU)" in text(form, "#launch-fit-check")

        await pilot.press("ctrl+s")  # the first one only warns
        assert app.screen is form and not results
        await wait_until(pilot, lambda: text(form, "#launch-fit-check").endswith("ctrl+s again to launch anyway"))
        assert "anyway" in str(form.query_one("#launch-go").label)
        for selector in ("#launch-fit", "#launch-fit-check", "#launch-go"):  # all on screen at 80x24
            region = form.query_one(selector).region
            assert region.height and region.bottom <= SIZE[1] - 1, (selector, region)

        await set_field(pilot, form, "r", "8")  # any change asks again
        assert form.fit_state == "over" and "again" not in text(form, "#launch-fit-check")
        await pilot.press("ctrl+s")
        assert app.screen is form and not results
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: results, what="the launch request")
        assert app.screen is not form
        request = results[0]
        assert isinstance(request, LaunchRequest) and request.recipe.stem == "demo-sft"
        assert request.overrides == {"lora.r": 8}


async def test_a_fitting_estimate_launches_at_once(workspace):
    results: list = []
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, results)
        form.set_gpu_budget(GpuBudget("local GPU", [80 * 1024]))
        assert form.fit_state == "ok" and form.query_one("#launch-fit-check").has_class("-ok")
        assert text(form, "#launch-fit-check").startswith("fits: ~1.")
        assert text(form, "#launch-fit-check").endswith("of 80.0 GiB free (local GPU)")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: results, what="the launch request")
        assert results[0].recipe.stem == "demo-sft" and results[0].overrides == {}


def test_fit_check_gpu_count_and_cpu_recipes(workspace):
    path = workspace.recipes_dir / "demo-sft.yaml"
    kind, estimate, gpus = fit_estimate(path, {"resources.gpus": 2})
    result = FitEstimated((), kind, estimate, gpus)
    assert fit_check(result, GpuBudget("h", [80 * 1024])) == (
        "h: the recipe asks for 2 GPUs but the host has 1", "over"
    )
    assert fit_check(result, GpuBudget("h", [80 * 1024, 80 * 1024]))[1] == "ok"
    kind, estimate, gpus = fit_estimate(path, {"resources.gpus": 0})
    cpu = FitEstimated((), kind, estimate, gpus)
    assert fit_check(cpu, GpuBudget("h", [1])) == ("CPU (resources.gpus: 0): no GPU memory check", "")
    assert fit_check(result, None) == ("checking free GPU memory…", "")
    assert fit_check(result, GpuBudget("h")) == ("free GPU memory on h unknown", "")
    kind, estimate, gpus = fit_estimate(workspace.recipes_dir / "demo-eval.yaml", {})
    assert estimate_text(FitEstimated((), kind, estimate, gpus)) == "GPU memory: no estimate for eval recipes"


def test_local_probe_reads_nvidia_smi_or_reports_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: CPU
    assert local_gpu_budget() == GpuBudget("local", cpu=True)
    smi = tmp_path / "nvidia-smi"  # a stand-in for the driver's tool (what it prints for two GPUs)
    smi.write_text("#!/bin/sh\nprintf '81000\\n2048\\n'\n")
    smi.chmod(0o755)
    assert local_gpu_budget() == GpuBudget("local 2 GPUs", [81000, 2048])
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert local_gpu_budget() == GpuBudget("local", cpu=True)


def test_estimate_imports_no_ml_library(workspace, tmp_path):
    """The TUI process stays light: the estimate reads config.json, never torch/transformers."""
    (tmp_path / "config.json").write_text(json.dumps(BIG_CONFIG))
    code = (
        "import sys; from pathlib import Path; from tailor.tui.screens.launch import fit_estimate\n"
        f"kind, est, _ = fit_estimate(Path({str(workspace.recipes_dir / 'demo-sft.yaml')!r}),"
        f" {{'model.name_or_path': {str(tmp_path)!r}}})\n"
        "assert est.total > 0, est\n"
        f"assert fit_estimate(Path({str(workspace.recipes_dir / 'demo-sft.yaml')!r}), {{}})[1].total\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                          cwd=Path(__file__).resolve().parents[2], timeout=120, check=False)
    assert done.returncode == 0, done.stderr
