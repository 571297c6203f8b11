"""The host side: ``python -m tailor.engine.remote OP --ws REMOTE_WORKSPACE --type TYPE ...``.

Runs on the GPU box with the same ``tailor.engine.runs`` code as the client, so liveness (pid checks) is
decided on the machine where the worker lives. Answers are one JSON object on stdout; ``follow``
streams JSON lines. Payloads (recipes, secrets) arrive on stdin, never in argv.

The run control that starts and judges workers is the host type's (``--type``, default ssh):
``control_class(TYPE)`` of engine/executors/registry.py, e.g. plain ``Control`` for ssh, ``SlurmControl``
for slurm. A plug-in type is known here when the host's ``env:`` names its module in TAILOR_PLUGINS.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import sys
import time
from pathlib import Path
from typing import Any

from tailor import engine
from tailor.engine.control import Control
from tailor.engine.errors import RecipeError, ResumeRefused, RunError, TailorError
from tailor.engine.executors.registry import DEFAULT_HOST_TYPE
from tailor.engine.fsutil import atomic_write_json, private_dir
from tailor.engine.recipes.trackers import TRACKER_DIRS
from tailor.engine.runs.liveness import this_host
from tailor.engine.runs.rundir import RunDir, check_run_id
from tailor.engine.runs.status import RunState, Status

FOLLOW_POLL_S = 0.05
PING_S = 5.0
END_EVENT_WAIT_S = 2.0
CHUNK = 1024 * 1024


class RemoteWorkspace:
    def __init__(self, root: str, host_type: str = DEFAULT_HOST_TYPE) -> None:
        self.root = Path(root).expanduser()
        #: The type of the host this workspace serves: it picks the run control.
        self.host_type = host_type
        self.runs_dir = self.root / "runs"
        self.store_dir = self.root / "store"

    def ensure(self) -> RemoteWorkspace:
        for path in (self.root, self.runs_dir, self.store_dir):
            private_dir(path)
        return self

    def run(self, run_id: str) -> RunDir:
        run = RunDir(self.runs_dir / check_run_id(run_id))
        if not run.exists():
            raise RunError(f"no run {run_id} in {self.runs_dir}")
        return run

    def control(self, settings: dict[str, Any] | None = None) -> Control:
        """The host type's run control on the machine where the workers live, with the host settings a
        launch or resume sends (``SSHExecutor.control_settings``)."""
        from tailor.engine.executors.registry import control_class
        from tailor.engine.workspace import Workspace

        return control_class(self.host_type).on_host(Workspace(self.root), python=sys.executable, settings=settings)


def out(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def read_payload() -> dict[str, Any]:
    data = sys.stdin.read()
    return json.loads(data) if data.strip() else {}


# -- ops -----------------------------------------------------------------------------------
def op_info(ws: RemoteWorkspace, args: list[str]) -> None:
    ws.ensure()
    out(
        {
            "hostname": this_host(),
            "python": sys.executable,
            "python_version": sys.version.split()[0],
            "tailor_version": engine.__version__,
            "engine_path": str(Path(engine.__file__).parent),
            "workspace": str(ws.root.resolve()),
            "store": str(ws.store_dir.resolve()),
        }
    )


def op_launch(ws: RemoteWorkspace, args: list[str]) -> None:
    """Create the run directory from the payload and start the worker detached.

    Idempotent by run id (the client chooses it before launching): a client whose connection dropped
    during a launch sends the same launch again, and a run already made under that id from the same
    recipe is answered with ``"launch": "existed"`` instead of a second worker. A lock on the runs folder
    around the check and the creation keeps a first attempt still running here and its retry from both
    creating it."""
    ws.ensure()
    p = read_payload()
    run_id = check_run_id(p["run_id"])
    status = Status.model_validate(p["status"])
    status.host = this_host()
    fd = os.open(ws.runs_dir, os.O_RDONLY)  # the runs folder's lock: launches on this host take turns
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        run = RunDir(ws.runs_dir / run_id)
        if run.exists():
            if run.recipe_file.read_text() != p["recipe"]:
                raise RunError(f"run id {run_id} exists already on {this_host()} with another recipe")
            out({**ws.control().effective(run).model_dump(mode="json"), "launch": "existed"})
            return
        _check_space(ws, p["recipe"])
        _check_model(p["recipe"])
        control = ws.control(p.get("settings"))
        control.env = p.get("env") or {}
        out({**control.create_and_spawn(run_id, p["recipe"], status).model_dump(mode="json"), "launch": "started"})
    finally:
        os.close(fd)


def _check_space(ws: RemoteWorkspace, recipe_yaml: str) -> None:
    """Refuse a launch whose checkpoints cannot fit on this host's disk (engine/runs/diskspace.py)."""
    from tailor.engine.memory_estimate import check_launch_space
    from tailor.engine.recipes.load import parse_recipe

    try:
        recipe = parse_recipe(recipe_yaml, check_files=False)
    except TailorError:
        return  # the worker reports a bad recipe itself
    check_launch_space(ws.runs_dir, recipe)


def _check_model(recipe_yaml: str) -> None:
    """The launch checks that only this host can answer, before its run directory exists: the model
    resolves here, and ``lora.target_modules`` match its modules (engine/preflight.py, meta device)."""
    from tailor.engine import kinds
    from tailor.engine.preflight import model_problem, target_problem
    from tailor.engine.recipes.load import parse_recipe

    try:
        recipe = parse_recipe(recipe_yaml, check_files=False)
    except TailorError:
        return  # the worker reports a bad recipe itself
    model = getattr(recipe, "model", None)
    if recipe.kind not in kinds.trainable() or model is None or getattr(recipe, "from_run", None):
        return
    problem = model_problem(model.name_or_path, model.revision) or target_problem(recipe)
    if problem:
        raise RecipeError(f"on {this_host()}: {problem}")


def op_resume(ws: RemoteWorkspace, args: list[str]) -> None:
    p = read_payload()
    ws.run(args[0])
    # The worker starts in its own session, so it outlives this SSH session (no tmux needed).
    control = ws.control(p.get("settings"))
    status = control.resume(args[0], env=p.get("env") or {}, accept_changes=bool(p.get("accept_changes")))
    out(status.model_dump(mode="json"))


def op_doctor(ws: RemoteWorkspace, args: list[str]) -> None:
    """Can the nodes train together (engine/remote/doctor.py)? Tasks on the host's nodes, then a verdict."""
    from tailor.engine.remote.doctor import run_doctor
    from tailor.engine.remote.slurm import RDZV_PORT

    p = read_payload()
    out(run_doctor(slurm=ws.host_type == "slurm", python=sys.executable, tasks=int(p.get("tasks") or 2),
                   nodes=int(p.get("nodes") or 1), port=int(p.get("port") or RDZV_PORT),
                   timeout=float(p.get("timeout") or 60)))


def op_status(ws: RemoteWorkspace, args: list[str]) -> None:
    out(ws.control().effective(ws.run(args[0])).model_dump(mode="json"))


def op_list(ws: RemoteWorkspace, args: list[str]) -> None:
    ws.ensure()
    out([s.model_dump(mode="json") for s in ws.control().list_runs()])


def op_cancel(ws: RemoteWorkspace, args: list[str]) -> None:
    ws.run(args[0])
    out(ws.control().cancel(args[0]).model_dump(mode="json"))


def op_events(ws: RemoteWorkspace, args: list[str]) -> None:
    after = int(_flag(args, "--after", "0"))
    events = ws.run(args[0]).events(after)
    out(events)


def op_follow(ws: RemoteWorkspace, args: list[str]) -> None:
    """Stream events with seq > --after as JSON lines, plus status lines; ends with an ``end`` line."""
    run = ws.run(args[0])
    after = int(_flag(args, "--after", "0"))
    until_done = "--forever" not in args
    cursor = run.cursor(after)
    control = ws.control()
    last_status_mtime = -1.0
    last_sent = time.monotonic()
    seen_state = None  # the state of the last status event sent
    while True:
        batch = cursor.read()
        for event in batch:
            out(event)
            if event.get("type") == "status":
                seen_state = event.get("state")
        mtime = _mtime(run.status_file)
        status = None
        if mtime != last_status_mtime or not batch:
            status = control.effective(run)
            if mtime != last_status_mtime or status.state == RunState.FAILED:
                last_status_mtime = mtime
                out({"_": "status", "status": status.model_dump(mode="json")})
                last_sent = time.monotonic()
        if batch:
            last_sent = time.monotonic()
        elif status is not None and status.state.terminal and until_done:
            # The worker writes its last status before the event saying so: wait a moment for that event.
            deadline = time.monotonic() + END_EVENT_WAIT_S
            while True:
                for event in cursor.read():
                    out(event)
                    if event.get("type") == "status":
                        seen_state = event.get("state")
                if seen_state == status.state.value or time.monotonic() > deadline:
                    break
                time.sleep(FOLLOW_POLL_S)
            out({"_": "end", "status": status.model_dump(mode="json")})
            return
        if time.monotonic() - last_sent > PING_S:
            out({"_": "ping"})  # a write on a dead connection ends this process
            last_sent = time.monotonic()
        if not batch:
            time.sleep(FOLLOW_POLL_S)


def op_manifest(ws: RemoteWorkspace, args: list[str]) -> None:
    """Files worth fetching, with size and sha256 (cached by size+mtime in .manifest-cache.json)."""
    run = ws.run(args[0])
    cache_file = run.path / ".manifest-cache.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    files = []
    # tracker stores written inside the run (train.report_to: tensorboard/, mlruns/, wandb/...) come back too
    roots = [run.adapter_dir, run.checkpoints_dir, run.eval_dir, *(run.path / d for d in TRACKER_DIRS)]
    singles = [run.recipe_file, run.status_file, run.events_file, run.stdout_file, run.stderr_file]
    if run.path.is_symlink():
        raise RunError(f"{run.path} is a symbolic link; a run directory is served only as a real folder")
    paths = [(p, st) for p in singles if (st := _regular(p)) is not None]
    for root in roots:
        paths += _regular_files(root)
    new_cache = {}
    for path, st in paths:
        rel = str(path.relative_to(run.path))
        key = f"{st.st_size}:{st.st_mtime_ns}"
        live = path.name in ("status.json", "events.jsonl", "stdout.log", "stderr.log")
        digest = cache.get(rel, {}).get("sha256") if cache.get(rel, {}).get("key") == key else None
        digest = digest or sha256_file(path, follow=False)
        if not live:
            new_cache[rel] = {"key": key, "sha256": digest}
        files.append({"path": rel, "size": st.st_size, "sha256": digest, "live": live})
    atomic_write_json(cache_file, new_cache)
    out({"run_id": run.run_id, "path": str(run.path), "files": files})


def _regular(path: Path) -> os.stat_result | None:
    """``path``'s own stat when it is a regular file, never following a symbolic link."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _regular_files(root: Path) -> list[tuple[Path, os.stat_result]]:
    """The regular files under ``root``, sorted, reached without following a symbolic link at any level:
    a linked ``root`` (a top-level ``eval/`` pointing elsewhere), linked folders and linked files are left
    out, so a manifest only ever serves what the run directory itself holds."""
    if _is_link_or_missing(root):
        return []
    found = []
    for top, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(top, d)))
        for name in names:
            path = Path(top) / name
            st = _regular(path)
            if st is not None:
                found.append((path, st))
    return sorted(found)


def _is_link_or_missing(path: Path) -> bool:
    try:
        return not stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return True


def op_store(ws: RemoteWorkspace, args: list[str]) -> None:
    """Content-addressed data store. ``{"check": [tree...]}`` -> the trees missing here;
    ``{"commit": [{"tree", "files": [{"rel", "sha256"}]}]}`` verifies ``store/<tree>.part`` file by file
    and renames it to ``store/<tree>`` (so a half-uploaded tree is never used)."""
    ws.ensure()
    p = read_payload()
    missing = [t for t in p.get("check", []) if not (ws.store_dir / _hash(t)).is_dir()]
    bad: list[str] = []
    for item in p.get("commit", []):
        tree = _hash(item["tree"])
        part = ws.store_dir / f"{tree}.part"
        ok = part.is_dir()
        for f in item["files"] if ok else []:
            target = part / _rel(f["rel"])
            if not target.is_file() or sha256_file(target) != f["sha256"]:
                bad.append(f["rel"])
                ok = False
        final = ws.store_dir / tree
        if ok and not final.exists():
            _make_private(part)  # whatever mode the upload left, the store holds 0700 folders, 0600 files
            os.replace(part, final)
        elif part.exists():
            shutil.rmtree(part, ignore_errors=True)
    out({"missing": missing, "bad": bad, "store": str(ws.store_dir.resolve())})


def _make_private(root: Path) -> None:
    os.chmod(root, 0o700)
    for top, dirs, names in os.walk(root, followlinks=False):
        for name in dirs + names:
            path = os.path.join(top, name)
            if not os.path.islink(path):  # a link's target is not the store's to change
                os.chmod(path, 0o700 if name in dirs else 0o600)


def op_rm(ws: RemoteWorkspace, args: list[str]) -> None:
    run = ws.run(args[0])
    status = ws.control().effective(run)
    if status.state.active:
        raise RunError(f"run {run.run_id} is still {status.state.value} on {this_host()}; cancel it first")
    shutil.rmtree(run.path)
    out({"removed": str(run.path)})


OPS = {
    "info": op_info,
    "launch": op_launch,
    "resume": op_resume,
    "status": op_status,
    "list": op_list,
    "cancel": op_cancel,
    "events": op_events,
    "follow": op_follow,
    "manifest": op_manifest,
    "store": op_store,
    "rm": op_rm,
    "doctor": op_doctor,
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in OPS or "--ws" not in args:
        print(f"usage: python -m tailor.engine.remote {{{','.join(OPS)}}} --ws WORKSPACE [--type TYPE] [ARGS]",
              file=sys.stderr)
        return 2
    op = args.pop(0)
    ws = RemoteWorkspace(_flag(args, "--ws", ""), _flag(args, "--type", DEFAULT_HOST_TYPE))
    os.umask(0o077)  # everything Tailor creates on the host is private
    try:
        OPS[op](ws, args)
    except BrokenPipeError:  # the client went away (dropped connection): the worker is unaffected
        return 0
    except TailorError as exc:
        kind = "changes" if isinstance(exc, ResumeRefused) else "run" if isinstance(exc, RunError) else "host"
        out({"error": str(exc), "kind": kind})
        return 3
    except (OSError, ValueError, KeyError) as exc:
        out({"error": f"{type(exc).__name__}: {exc}", "kind": "host"})
        return 3
    return 0


def _flag(args: list[str], name: str, default: str) -> str:
    """Pop ``name VALUE`` out of args."""
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i : i + 2]
        return value
    return default


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1.0


def _hash(value: str) -> str:
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"bad sha256 {value!r}")
    return value


def _rel(value: str) -> str:
    parts = value.split("/")
    if not value or value.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in value:
        raise ValueError(f"bad relative path {value!r}")
    return value


def sha256_file(path: Path, *, follow: bool = True) -> str:
    """The file's sha256; ``follow=False`` refuses a symbolic link (one swapped in after a check too)."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | (0 if follow else os.O_NOFOLLOW))
    with open(fd, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
