"""Item 6: a disk that fills is named, both mid-run and on resume; a launch that cannot fit is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.helpers import tailor, tick_recipe, wait_state


def mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): {out.stderr.strip()}")


@pytest.fixture
def small_runs_dir(workspace) -> Iterator[Path]:
    """The workspace's runs/ on a 6 MB tmpfs (unmounted afterwards)."""
    runs = workspace.runs_dir
    if runs.exists():
        shutil.rmtree(runs)
    mount_tmpfs(runs, "6m")
    try:
        yield runs
    finally:
        subprocess.run(["umount", "-l", str(runs)], check=False)


def fill(where: Path, leave: int = 0) -> Path:
    """Fill the filesystem holding ``where`` to the last byte (or all but ``leave`` bytes)."""
    blob = Path(tempfile.mkstemp(dir=where, prefix="fill-")[1])
    # Unbuffered: a buffered file can still hold bytes when the disk fills, and then raise ENOSPC on close.
    with open(blob, "wb", buffering=0) as fh:
        try:
            while shutil.disk_usage(where).free > leave + 65536 or not leave:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    return blob


def test_disk_full_mid_run_and_on_resume_is_named(tick, workspace, small_runs_dir) -> None:
    # Each checkpoint writes 512 KB: the 6 MB disk fills after about ten.
    out = tailor(workspace, "run", str(tick_recipe(workspace, steps=400, step_s=0.01, save_every=2, write_kb=512)))
    assert out.returncode == 0, out.stderr
    run = workspace.run(out.stdout.strip())
    assert wait_state(run, "failed", "succeeded", timeout=90) == "failed"
    status = run.read_status()
    assert status.error and status.error.startswith("disk full writing "), status.error
    assert "MB free" in status.error and "died without reporting" not in status.error
    assert run.stderr_file.read_text().strip(), "the traceback reached stderr.log"
    assert run.events()[-1]["type"] == "status" and run.events()[-1]["state"] == "failed"
    # the checkpoint the disk cut short is gone: a resume starts from the last whole one
    saved = sorted((run.path / "checkpoints").iterdir())
    assert saved and all(json.loads((c / "trainer_state.json").read_text()) for c in saved), saved
    assert run.last_checkpoint() == max(saved, key=lambda c: int(c.name.split("-")[1]))

    blob = fill(small_runs_dir, leave=2 * 1024 * 1024)  # still full for a run: 2 MB left
    still = tailor(workspace, "resume", run.run_id)
    assert still.returncode == 2 and "not enough disk space" in still.stderr, still.stderr  # launch's message
    assert run.read_status().state.value == "failed" and run.read_status().attempt == 0  # nothing written
    blob.unlink()

    blob = fill(small_runs_dir)
    again = tailor(workspace, "resume", run.run_id)
    assert again.returncode == 2, again.stdout
    assert again.stderr.startswith("error: not enough disk space in ") and "0.0 MB free" in again.stderr, again.stderr
    assert "Errno" not in again.stderr and again.stderr.count("\n") == 1
    blob.unlink()


def test_launch_refused_when_checkpoints_cannot_fit(workspace, small_runs_dir) -> None:
    fill(small_runs_dir)
    out = tailor(workspace, "run", "demo-sft")
    assert out.returncode == 2
    assert "not enough disk space" in out.stderr and "free" in out.stderr, out.stderr
    assert list(small_runs_dir.iterdir())[0].name.startswith("fill-") and len(list(small_runs_dir.iterdir())) == 1
