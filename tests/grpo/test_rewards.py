"""Rewards: the built-ins' values, and user reward files — frozen into the run, refused in one line when broken."""

from __future__ import annotations

import stat

import pytest
from grpo_helpers import SHORT, finished, make_run, metrics, resume_worker, write

from tailor.engine.runs.status import RunState
from tailor.engine.train import rewards as R

CHAT = [[{"role": "assistant", "content": " DCBA "}], [{"role": "assistant", "content": "dcb"}]]


def test_builtin_values() -> None:
    assert R.exact_match("answer")(completions=CHAT, answer=["dcba", "dcba"]) == [1.0, 0.0]
    assert R.exact_match("answer")(completions=["x"], answer=[None]) == [None]
    f1 = R.token_f1("ref")(completions=["the cat sat", "dog"], ref=["the cat", "cat"])
    assert f1 == [pytest.approx(0.8), 0.0]
    assert R.format_check(r"^<answer>.*</answer>$")(completions=["<answer>a\nb</answer>", "a"]) == [1.0, 0.0]
    assert R.length_penalty(4)(completions=["abcd", "abcdef", "a" * 20]) == [0.0, -0.5, -1.0]


def test_shape_problems_are_named() -> None:
    assert R.shape_problem([1.0, None], 2) is None
    assert R.shape_problem(1.0, 2) == "a float"
    assert R.shape_problem([1.0], 2) == "1 values for 2 completions"
    assert R.shape_problem(["a", "b"], 2) == "a str among its values"


GOOD = "def score(prompts, completions, answer, **kwargs):\n    return [float(len(c[0]['content']) == 4) for c in completions]\n"


@pytest.mark.slow
def test_user_reward_trains_and_is_frozen_into_the_run(workspace) -> None:
    source = write(workspace.recipes_dir / "mine.py", GOOD)
    run = make_run(workspace, overrides={**SHORT, "rewards": ["exact_match", {"function": "mine.py:score", "weight": 0.5}]})
    finished(run)
    frozen = run.path / "rewards" / "1-mine.py"
    assert frozen.read_text() == GOOD and stat.S_IMODE(frozen.stat().st_mode) == 0o600
    source.write_text("def score(:\n")  # later edits never reach the run: a resume reads its frozen copy
    from tailor.engine.recipes.grpo import GRPORecipe
    from tailor.engine.runs.lookup import run_recipe
    from tailor.engine.train.rewards import load_user

    recipe = run_recipe(run)
    assert isinstance(recipe, GRPORecipe)
    assert load_user(recipe.rewards[1], frozen)(prompts=[], completions=[[{"content": "abcd"}]], answer=["x"]) == [1.0]
    logged = metrics(run)
    assert [m["step"] for m in logged] == [1, 2]
    for key in ("reward", "reward_std", "rewards/exact_match/mean", "rewards/exact_match/std", "rewards/score/mean",
                "rewards/score/std", "completions/mean_length", "completions/clipped_ratio"):
        assert key in logged[-1], key
    samples = [e for e in run.events() if e["type"] == "samples"]
    assert [e["step"] for e in samples] == [1, 2]
    row = samples[0]["rows"][0]
    assert row["prompt"].startswith("Reverse: ") and set(row["rewards"]) == {"exact_match", "score"}
    assert len(samples[0]["rows"]) == 8  # both prompts' groups of 4, so answers compare within a group


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import not_a_module_tailor\n\ndef score(**kw):\n    return []\n",
         ":1: reward file fails to import: ModuleNotFoundError: No module named 'not_a_module_tailor'; fix it"),
        ("def score(prompts, completions, **kw):\n    return 1.0\n",
         ": reward score returned a float; return a list with one float (or None) per completion (4 here)"),
        ("def score(prompts, completions, **kw):\n    return [1.0]\n",
         ": reward score returned 1 values for 4 completions"),
        ("def score(prompts, completions, **kw):\n    x = 1\n    return [kw['missing']] * len(completions)\n",
         ":3: reward score raised KeyError: 'missing' on the first rows"),
        ("def score(prompts, completions):\n    return [0.0] * len(completions)\n",
         "raised TypeError"),
        ("score = 3\n", ": score is a int, not a function"),
    ],
)
def test_broken_reward_stops_the_run_before_the_model_loads(workspace, text: str, expected: str) -> None:
    path = write(workspace.recipes_dir / "broken.py", text)
    run = make_run(workspace, overrides={**SHORT, "rewards": ["broken.py:score"]})
    status = finished(run, RunState.FAILED)
    assert status.error is not None and str(path.resolve()) in status.error, status.error
    assert expected in status.error and "\n" not in status.error
    assert not (run.path / "checkpoints").exists() or not any((run.path / "checkpoints").iterdir())
    assert not any("trainable parameters" in e.get("message", "") for e in run.events())


def test_a_reward_file_changed_after_launch_is_refused(workspace) -> None:
    path = write(workspace.recipes_dir / "gone.py", GOOD)
    run = make_run(workspace, overrides={**SHORT, "rewards": ["gone.py:score"]})
    path.write_text("def other(**kw):\n    return []\n")
    status = finished(run, RunState.FAILED)
    assert status.error == (f"{path.resolve()}: the reward file changed after the run was launched; launch again "
                            "to train with the new version")


# Asks for a cancel from inside training (the probe passes no trainer_state), so the run stops at step 1.
CANCELS = (
    "from pathlib import Path\n\n"
    "def score(prompts, completions, trainer_state=None, **kwargs):\n"
    "    if trainer_state is not None and trainer_state.global_step == 0:\n"
    "        (Path(__file__).parent.parent / 'cancel.request').touch()\n"
    "    return [0.0 for _ in completions]\n"
)


@pytest.mark.slow
def test_cancel_then_resume_continues_with_the_frozen_reward(workspace) -> None:
    source = write(workspace.recipes_dir / "stop.py", CANCELS)
    run = make_run(workspace, overrides={**SHORT, "train.max_steps": 3, "rewards": ["exact_match", "stop.py:score"]})
    finished(run, RunState.CANCELLED)
    assert (run.path / "rewards" / "1-stop.py").read_text() == CANCELS
    source.write_text("def score(:\n")  # edited meanwhile: the resume still reads the run's frozen copy
    run.requeue()
    status = resume_worker(run)
    assert status.state == RunState.SUCCEEDED, status.error
    assert [m["step"] for m in metrics(run)] == [1, 2, 3]  # no step logged twice
    assert any(e.get("message", "").startswith("resuming from checkpoints/checkpoint-1") for e in run.events())
