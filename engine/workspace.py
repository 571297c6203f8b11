"""A workspace: recipes, data, runs and study storage under one folder.

A fresh workspace is seeded with the packaged example recipes and the generated demo data, so that
``tailor`` works offline on a laptop from the first start.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from tailor.engine.errors import RunError, TailorError
from tailor.engine.fsutil import private_dir
from tailor.engine.runs.rundir import RunDir, check_run_id

MARKER = ".tailor-workspace"


class Workspace:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    recipes_dir = property(lambda self: self.root / "recipes")
    data_dir = property(lambda self: self.root / "data")
    runs_dir = property(lambda self: self.root / "runs")
    studies_db = property(lambda self: self.root / "studies.db")
    config_file = property(lambda self: self.root / "workspace.yaml")

    @property
    def initialised(self) -> bool:
        return (self.root / MARKER).exists()

    def ensure(self, *, demo: bool = True) -> Workspace:
        """Create the workspace if needed; a new one gets the example recipes and demo data."""
        try:
            fresh = not self.initialised
            self.root.mkdir(parents=True, exist_ok=True)
            private_dir(self.runs_dir)
            self.recipes_dir.mkdir(exist_ok=True)
            self.data_dir.mkdir(exist_ok=True)
            if fresh and demo:
                self.seed_demo()
            if fresh:  # written once: opening a workspace changes nothing in it
                (self.root / MARKER).write_text("tailor workspace\n")
        except OSError as exc:
            raise TailorError(f"{self.root}: cannot create workspace: {exc.strerror or exc}") from None
        return self

    def seed_demo(self) -> None:
        from tailor.engine.data.demo import write_demo_data

        write_demo_data(self.data_dir)
        for item in resources.files("tailor.recipes").iterdir():
            if item.name.endswith(".yaml"):
                target = self.recipes_dir / item.name
                if not target.exists():
                    with resources.as_file(item) as src:
                        shutil.copyfile(src, target)

    def recipes(self) -> list[Path]:
        return sorted(p for p in self.recipes_dir.glob("*.y*ml") if p.is_file())

    def run_dirs(self) -> list[RunDir]:
        if not self.runs_dir.is_dir():
            return []
        runs = [RunDir(p) for p in self.runs_dir.iterdir() if (p / "status.json").exists()]
        return sorted(runs, key=lambda r: r.status_file.stat().st_ctime if r.status_file.exists() else 0)

    def run(self, ref: str) -> RunDir:
        """A run by exact id or unique prefix."""
        check_run_id(ref)
        exact = RunDir(self.runs_dir / ref)
        if exact.exists():
            return exact
        matches = [r for r in self.run_dirs() if r.run_id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(r.run_id for r in matches[:4])
            raise RunError(f"run {ref!r} is ambiguous: {names}{'...' if len(matches) > 4 else ''}")
        raise RunError(f"no run {ref!r} in {self.runs_dir}; `tailor runs` lists them")


def workspace_of(run: RunDir) -> Workspace:
    """The workspace a run directory lives in (``<workspace>/runs/<id>``)."""
    return Workspace(run.path.parent.parent)


def open_workspace(path: str | Path | None = None, *, ensure: bool = True, create: bool = False) -> Workspace:
    """The workspace at ``path`` (default: the configured one), created and seeded if needed.

    A missing workspace is created only where that is clearly meant: the default location, ``create``
    (``tailor init PATH``), or a new folder in an existing one. A configured path whose parent does not
    exist (a typo, an unmounted disk) is refused instead of silently growing a tree of folders.
    """
    from tailor.engine.config import default_workspace

    if path is None:
        from tailor.engine.config import settings

        path = settings().workspace
    ws = Workspace(path)
    missing = ensure and not create and not ws.root.exists() and not ws.root.parent.is_dir()
    if missing and ws.root != Workspace(default_workspace()).root:
        raise TailorError(
            f"workspace {ws.root} does not exist (nor does {ws.root.parent}); create it with "
            f"`tailor init {ws.root}` or fix `workspace` in the config (or -w / TAILOR_WORKSPACE)"
        )
    return ws.ensure() if ensure else ws
