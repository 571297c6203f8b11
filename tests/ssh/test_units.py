"""Pieces that need no server: quoting, nvidia-smi parsing, the memory estimate, the multi-GPU argv."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tailor.engine.errors import HostError
from tailor.engine.memory_estimate import GIB, ModelShape, check_fit, estimate, estimate_recipe
from tailor.engine.remote.gpus import GPU, parse_nvidia_smi
from tailor.engine.remote.quoting import join, redact, secrets_from, with_env
from tailor.engine.remote.sync import data_paths, tree_for
from tailor.engine.worker.launch import worker_command

SMI = """0, NVIDIA H100 80GB HBM3, 81559, 1024, 3
1, NVIDIA GeForce RTX 4090, 24564, 20000, 97
2, Tesla T4, 15360, 0, [N/A]
"""


def test_join_is_shell_safe() -> None:
    words = ["printf", "%s|", "a b", "$(id)", "`id`", "x;y", "'\"", "", "~", "*"]
    out = subprocess.run(["sh", "-c", join(words)], capture_output=True, text=True, check=True).stdout
    assert out == "|".join(words[2:]) + "|"
    assert shlex.split(join(words)) == words


def test_env_and_secrets() -> None:
    assert with_env(["python"], {"HF_HOME": "/a b"}) == ["env", "HF_HOME=/a b", "python"]
    with pytest.raises(HostError, match="not a valid"):
        with_env(["python"], {"A;B": "x"})
    with pytest.raises(HostError, match="secret"):
        with_env(["python"], {"HF_TOKEN": "x"})
    env = {"HF_TOKEN": "hf_abc", "WANDB_API_KEY": "w123", "OTHER": "o", "MY_KEY": "k"}
    assert secrets_from(env, ["MY_KEY"]) == {"HF_TOKEN": "hf_abc", "WANDB_API_KEY": "w123", "MY_KEY": "k"}
    assert redact("token hf_abc!", {"HF_TOKEN": "hf_abc"}) == "token ***!"


def test_parse_nvidia_smi() -> None:
    gpus = parse_nvidia_smi(SMI)
    assert [g.name for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA GeForce RTX 4090", "Tesla T4"]
    assert gpus[0].memory_free_mib == 81559 - 1024
    assert gpus[1].utilization_pct == 97 and gpus[2].utilization_pct is None
    assert parse_nvidia_smi("") == []
    assert parse_nvidia_smi("0, Weird, Name, 100, 50, 1\n")[0].name == "Weird, Name"


def test_fit_estimates() -> None:
    shape = ModelShape.from_config(
        {
            "hidden_size": 4096,
            "num_hidden_layers": 32,
            "vocab_size": 32000,
            "intermediate_size": 11008,
            "num_attention_heads": 32,
        }
    )
    assert 6.0e9 < shape.params < 7.5e9  # a Llama-2-7B shape
    kw = {"model": "m", "dtype": "bfloat16", "batch": 1, "seq": 512}
    full, lora, qlora = (estimate(shape, method=m, **kw) for m in ("full", "lora", "qlora"))
    assert full.total > 100 * GIB  # weights + grads + Adam states for 7B
    assert 13 * GIB < lora.total < 25 * GIB
    assert qlora.total < 8 * GIB
    assert full.total > lora.total > qlora.total
    bigger = estimate(shape, method="lora", **{**kw, "batch": 8, "seq": 2048})
    assert bigger.parts["activations"] > 30 * lora.parts["activations"]
    ckpt = estimate(shape, method="lora", gradient_checkpointing=True, **{**kw, "batch": 8, "seq": 2048})
    assert ckpt.parts["activations"] < bigger.parts["activations"] / 5
    h100 = GPU(0, "H100", 81559, 1024, 0)
    assert check_fit(lora, [h100]).fits
    verdict = check_fit(full, [h100])
    assert not verdict.fits and "may not fit" in verdict.message
    assert not check_fit(lora, []).fits  # no GPU
    assert check_fit(lora, [], gpus_wanted=0).fits
    assert "asks for 2 GPUs" in check_fit(lora, [h100], gpus_wanted=2).message


def test_fit_for_demo_recipe(workspace) -> None:
    from tailor.engine.recipes.load import load_recipe

    est = estimate_recipe(load_recipe(workspace.recipes_dir / "demo-sft.yaml"))
    assert est.total is not None and est.total < 2 * GIB
    assert "GiB" in est.describe()


def test_worker_command_gpus(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert worker_command(run, python="py") == ["py", "-m", "tailor.engine.worker", str(run)]  # no recipe: as before
    (run / "recipe.yaml").write_text(yaml.safe_dump({"resources": {"gpus": 1}}))
    assert worker_command(run, python="py", resume=True) == [
        "py",
        "-m",
        "tailor.engine.worker",
        str(run),
        "--resume",
    ]
    (run / "recipe.yaml").write_text(yaml.safe_dump({"resources": {"gpus": 4, "launcher": "accelerate"}}))
    cmd = worker_command(run, python="py")
    assert cmd[:3] == ["py", "-m", "accelerate.commands.launch"] and "--num_processes=4" in cmd
    assert cmd[-3:] == ["-m", "tailor.engine.worker", str(run)]
    (run / "recipe.yaml").write_text(yaml.safe_dump({"resources": {"gpus": 2, "launcher": "torchrun"}}))
    assert worker_command(run, python="py") == [
        "py",
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "tailor.engine.worker",
        str(run),
    ]


def test_data_trees(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.jsonl").write_text("{}\n")
    (tmp_path / "d" / "sub" / "b.jsonl").write_text("{}\n")
    one = tree_for(str(tmp_path / "d" / "a.jsonl"))
    assert [f[0] for f in one.files] == ["a.jsonl"] and one.remote_path("/s").endswith("/a.jsonl")
    folder = tree_for(str(tmp_path / "d"))
    assert sorted(f[0] for f in folder.files) == ["d/a.jsonl", "d/sub/b.jsonl"]
    pattern = tree_for(str(tmp_path / "d" / "**" / "*.jsonl"))
    assert pattern.remote_path("/s").endswith("/d/**/*.jsonl") and len(pattern.files) == 2
    assert tree_for("org/dataset") is None
    same = tree_for(str(tmp_path / "d" / "a.jsonl"))
    assert same.digest == one.digest
    (tmp_path / "d" / "a.jsonl").write_text("{}\n{}\n")
    assert tree_for(str(tmp_path / "d" / "a.jsonl")).digest != one.digest
    recipe = {
        "data": {"train": [{"path": "/x/a"}], "eval": [{"path": "/x/b"}]},
        "model": {"name_or_path": "/m"},
    }
    assert [p for _, p in data_paths(recipe)] == ["/x/a", "/x/b"]
