"""``tailor hosts ls | add | edit | rm | test | trust | setup | gpus | fit | fetch | clean``."""

from __future__ import annotations

import json
from typing import Any

import click

from tailor.tui.cli.common import CliState, run_async, tailor_command

FIELDS = ("type", "hostname", "user", "port", "identity_file", "proxy_jump", "python", "workdir")
UNSETTABLE = (*FIELDS, "env", "forward_env", "setup", "slurm")


def _host_options(fn):
    for opt in reversed(
        [
            click.option("--type", "type", help="Host type: ssh (default) or slurm (a cluster's login node)."),
            click.option("--hostname", help="Address (default: the name, through ~/.ssh/config)."),
            click.option("--user", help="Login user."),
            click.option("--port", type=int, help="SSH port."),
            click.option(
                "--identity-file", "identity_file", multiple=True, help="Private key file (repeatable)."
            ),
            click.option("--proxy-jump", help="Jump host (a host name or [user@]host[:port])."),
            click.option("--python", help="Existing interpreter with Tailor on the host (skips the venv)."),
            click.option("--workdir", help="Remote folder for runs, data and the venv (default ~/.tailor)."),
            click.option(
                "--env", "env", multiple=True, metavar="KEY=VALUE",
                help="Non-secret env for remote commands (repeatable; edit adds to the host's env:).",
            ),
            click.option(
                "--forward-env", "forward_env", multiple=True, metavar="NAME",
                help="A secret variable forwarded from your environment on stdin (repeatable; adds).",
            ),
            click.option(
                "--pip-arg", "pip_args", multiple=True, metavar="ARG",
                help="An extra `pip install` argument for `hosts setup`, e.g. --pip-arg=--index-url=URL "
                "(repeatable; replaces setup.pip_args).",
            ),
            click.option(
                "--slurm", "slurm", multiple=True, metavar="KEY=VALUE",
                help="sbatch setting of a slurm host: partition, account, qos, time, nodes, gpus_per_node, "
                "cpus_per_task, mem, sbatch (repeatable; sbatch=--constraint=a100 adds a line).",
            ),
        ]
    ):
        fn = opt(fn)
    return fn


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in FIELDS:
        value = values.get(key)
        if value not in (None, (), []):
            out[key] = list(value) if isinstance(value, tuple) else value
    if values.get("env"):
        env = {}
        for item in values["env"]:
            k, sep, v = item.partition("=")
            if not sep:  # the item is not repeated: it may be a pasted secret
                raise click.BadParameter("expected KEY=VALUE (one of them has no '=')", param_hint="--env")
            env[k] = v
        out["env"] = env
    if values.get("forward_env"):
        out["forward_env"] = list(values["forward_env"])
    if values.get("pip_args"):
        out["setup"] = {"pip_args": list(values["pip_args"])}
    if values.get("slurm"):
        slurm: dict[str, Any] = {}
        for item in values["slurm"]:
            k, sep, v = item.partition("=")
            if not sep:
                raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--slurm")
            if k == "sbatch":
                slurm.setdefault("sbatch", []).append(v)
            else:
                slurm[k] = v
        out["slurm"] = slurm
    return out


@click.group("hosts")
def hosts_cmd() -> None:
    """Remote GPU hosts over SSH: list, add, trust, set up, check GPUs."""


@hosts_cmd.command("ls")
@click.option(
    "--probe/--no-probe", default=True, show_default=True, help="Connect to show reachability and GPUs."
)
@click.option("--json", "as_json", is_flag=True)
@tailor_command
def ls_cmd(state: CliState, probe: bool, as_json: bool) -> None:
    """List hosts (workspace and ~/.ssh/config) with reachability, GPUs and versions."""
    from tailor.engine.api import hosts

    ws = state.workspace_obj()
    rows = hosts.list_hosts(ws)
    names = [row["name"] for row in rows]
    probes = run_async(hosts.probe_hosts(ws, names)) if probe and rows else {}
    for row in rows:
        if row["name"] in probes:
            row.update(probes[row["name"]].to_dict())
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    if not rows:
        click.echo("no hosts: `tailor hosts add NAME --hostname ADDRESS` or add a Host to ~/.ssh/config")
        return
    for row in rows:
        click.echo(_host_line(row))


def _host_line(row: dict[str, Any]) -> str:
    head = f"{row['name']:<16} {row['address']:<32}"
    if "reachable" not in row:
        return f"{head} ({row['source']})"
    if not row["reachable"]:
        return f"{head} unreachable: {row['error']}"
    return f"{head} ok {row['latency_ms']:.0f}ms  {_gpu_text(row['gpus'])}  {_versions(row)}"


def _gpu_text(gpus: list[dict[str, Any]]) -> str:
    if not gpus:
        return "no GPU"
    return ", ".join(
        f"{g['name']} {g['memory_used_mib'] / 1024:.1f}/{g['memory_total_mib'] / 1024:.0f}GiB {g['utilization_pct'] or 0}%"
        for g in gpus
    )


def _versions(row: dict[str, Any]) -> str:
    tailor = row.get("tailor_version") or "not installed (`tailor hosts setup`)"
    return f"python {row.get('python_version') or '?'}  tailor {tailor}"


@hosts_cmd.command("add")
@click.argument("name")
@_host_options
@tailor_command
def add_cmd(state: CliState, name: str, **values: Any) -> None:
    """Add host NAME to the workspace (workspace.yaml hosts:)."""
    from tailor.engine.api.errors import HostError
    from tailor.engine.api.hosts import new_host, save_host, workspace_hosts

    ws = state.workspace_obj()
    if name in workspace_hosts(ws):
        raise HostError(f"host {name!r} exists already: `tailor hosts edit {name}` changes it")
    save_host(ws, new_host(name, _changes(values)))
    click.echo(f"added {name}; next: `tailor hosts trust {name}` then `tailor hosts setup {name}`")


@hosts_cmd.command("edit")
@click.argument("name")
@_host_options
@click.option("--unset", "unset", multiple=True, type=click.Choice(UNSETTABLE), help="Remove a whole field.")
@click.option("--unset-env", "unset_env", multiple=True, metavar="KEY", help="Remove one key from env: (repeatable).")
@tailor_command
def edit_cmd(state: CliState, name: str, unset: tuple[str, ...], unset_env: tuple[str, ...], **values: Any) -> None:
    """Change fields of host NAME (a ~/.ssh/config host is copied into the workspace).

    --env and --forward-env add to what the host has (--unset-env KEY removes one variable, --unset env
    all of them); the other options replace their field. Values of env: are never printed."""
    from tailor.engine.api.hosts import get_host, update_host

    ws = state.workspace_obj()
    changes: dict[str, Any] = {key: None for key in unset}
    new = _changes(values)
    current = get_host(ws, name)
    if "env" in new or unset_env:
        env = {} if "env" in unset else dict(current.env)
        missing = [k for k in unset_env if k not in env]
        if missing:
            from tailor.engine.api.errors import HostError

            raise HostError(f"host {name!r}: env: has no {', '.join(missing)} to unset (it has: "
                            f"{', '.join(env) or 'nothing'})")
        for key in unset_env:
            del env[key]
        new["env"] = {**env, **new.get("env", {})} or None
    if "forward_env" in new:
        kept = [] if "forward_env" in unset else current.forward_env
        new["forward_env"] = list(dict.fromkeys([*kept, *new["forward_env"]]))
    if "setup" in new:
        new["setup"] = {**current.setup.model_dump(exclude_defaults=True), **new["setup"]}
    changes.update(new)
    host = update_host(ws, name, changes)
    click.echo(f"{name}: saved; {_summary(host.to_yaml_dict())}")


def _summary(saved: dict[str, Any]) -> str:
    """The host's saved settings on one line, env: by name only (its values may be anything)."""
    parts = []
    for key, value in saved.items():
        if key == "env":
            parts.append(f"env: {', '.join(value)} (values not shown; `--unset-env KEY` removes one)")
        else:
            parts.append(f"{key}: {json.dumps(value)}")
    return "; ".join(parts) or "no settings beyond the defaults"


@hosts_cmd.command("rm")
@click.argument("name")
@tailor_command
def rm_cmd(state: CliState, name: str) -> None:
    """Remove host NAME from the workspace (its runs and files on the host are left alone)."""
    from tailor.engine.api.hosts import remove_host

    remove_host(state.workspace_obj(), name)
    click.echo(f"removed {name}")


@hosts_cmd.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@tailor_command
def test_cmd(state: CliState, name: str, as_json: bool) -> None:
    """Connect to NAME: reachability, Python and Tailor versions, GPUs."""
    from tailor.engine.api import hosts

    row = run_async(hosts.probe_host(state.workspace_obj(), name)).to_dict()
    if as_json:
        click.echo(json.dumps(row, default=str))
    elif row["reachable"]:
        click.echo(f"{name}: reachable ({row['latency_ms']:.0f} ms), host {row['hostname'] or '?'}")
        click.echo(f"  {_versions(row)}" + (f"  ({row['error']})" if row.get("error") else ""))
        click.echo(f"  GPUs: {_gpu_text(row['gpus'])}")
    if not row["reachable"]:
        from tailor.engine.api.errors import HostError

        raise HostError(row["error"])


@hosts_cmd.command("doctor")
@click.argument("name")
@click.option("--tasks", type=int, default=2, show_default=True, help="Tasks (processes) in the all-reduce.")
@click.option("--nodes", type=int, default=1, show_default=True, help="Slurm hosts: nodes to spread them over.")
@click.option("--port", type=int, default=None, help="Rendezvous port (default: the one multi-node runs use).")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds for the check; a task waits half of it for the others.")
@click.option("--json", "as_json", is_flag=True)
@tailor_command
def doctor_cmd(state: CliState, name: str, tasks: int, nodes: int, port: int | None, timeout: float,
               as_json: bool) -> None:
    """Before a multi-node launch: versions on every node, rendezvous, a short all-reduce, suggestions."""
    from tailor.engine.api import hosts

    report = run_async(hosts.doctor(state.workspace_obj(), name, tasks=tasks, nodes=nodes, port=port,
                                    timeout=timeout))
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        for line in hosts.doctor_lines(name, report):
            click.echo(line)
    if not report["ok"]:
        raise SystemExit(1)


@hosts_cmd.command("trust")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Trust without asking (you checked the fingerprint).")
@tailor_command
def trust_cmd(state: CliState, name: str, yes: bool) -> None:
    """Show NAME's host key fingerprint and add it to known_hosts once you confirm."""
    from tailor.engine.api import hosts
    from tailor.engine.api.errors import HostError

    result, path = run_async(hosts.check_key(state.workspace_obj(), name))
    if result.state == "trusted":
        click.echo(f"{name}: {result.pattern} already trusted ({result.key_type} {result.fingerprint})")
        return
    if result.state == "changed":
        raise HostError(hosts.changed_message(path, result))
    click.echo(f"{name}: {result.pattern} offers {result.key_type} key {result.fingerprint}")
    if not yes and not click.confirm(f"Trust it and add it to {path}?", default=False):
        raise HostError(f"{name}: not trusted; nothing written")
    hosts.trust_key(path, result)
    click.echo(f"trusted: {result.pattern} added to {path}")


@hosts_cmd.command("setup")
@click.argument("name")
@click.option("--pip-arg", "pip_args", multiple=True, metavar="ARG",
              help="An extra `pip install` argument for this setup, e.g. --pip-arg=--index-url=URL (repeatable; "
              "`hosts edit --pip-arg` saves them).")
@click.option("--forward-env", "forward_env", multiple=True, metavar="NAME",
              help="Pass this variable from your environment to pip on the host, on stdin (repeatable).")
@tailor_command
def setup_cmd(state: CliState, name: str, pip_args: tuple[str, ...], forward_env: tuple[str, ...]) -> None:
    """Install this Tailor version on NAME (a venv under its workdir, or the configured python).

    A host without a GPU gets torch's CPU build (said, with how to choose another index)."""
    from tailor.engine.api import hosts

    run_async(hosts.setup(state.workspace_obj(), name, say=lambda m: click.echo(f"{name}: {m}"),
                          pip_args=list(pip_args), forward_env=list(forward_env)))


@hosts_cmd.command("gpus")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@tailor_command
def gpus_cmd(state: CliState, name: str, as_json: bool) -> None:
    """GPU inventory of NAME from nvidia-smi (name, memory used/total, utilisation)."""
    from dataclasses import asdict


    gpus = _gpu_inventory(state, name)
    if as_json:
        click.echo(json.dumps([{**asdict(g), "memory_free_mib": g.memory_free_mib} for g in gpus]))
        return
    if not gpus:
        click.echo(f"{name}: no GPU (no nvidia-smi or no NVIDIA driver)")
    for g in gpus:
        click.echo(
            f"{name}: gpu{g.index} {g.name}  {g.memory_used_mib}/{g.memory_total_mib} MiB used  "
            f"{g.utilization_pct if g.utilization_pct is not None else '?'}% busy"
        )


def _gpu_inventory(state: CliState, name: str) -> list[Any]:
    """NAME's GPUs from nvidia-smi over one short-lived connection."""
    from tailor.engine.api import hosts

    return run_async(hosts.gpus(state.workspace_obj(), name))


@hosts_cmd.command("fit")
@click.argument("name")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE")
@tailor_command
def fit_cmd(state: CliState, name: str, recipe: str, assignments: tuple[str, ...]) -> None:
    """Estimate RECIPE's GPU memory and compare it with NAME's free GPU memory."""
    from tailor.engine.api import hosts
    from tailor.engine.api.launch import estimate_recipe
    from tailor.engine.api.recipes import load_with_overrides, parse_assignment

    parsed = load_with_overrides(
        state.recipe_path(recipe), dict(parse_assignment(a) for a in assignments) or None
    )
    estimate = estimate_recipe(parsed)
    click.echo(estimate.describe())
    click.echo(estimate.shape_line())  # a config.json (path, HF cache, hub), the table, or guessed and why
    resources = getattr(parsed, "resources", None)
    wanted = getattr(resources, "gpus", 1)
    verdict = run_async(hosts.fit_on(state.workspace_obj(), name, estimate, gpus_wanted=wanted))
    if verdict.message:
        click.secho(f"{name}: {verdict.message}", fg="green" if verdict.fits else "yellow")


def _remote_executor(state: CliState, run_id: str) -> Any:
    from tailor.engine.api.errors import RunError
    from tailor.engine.api.executors import executor_for_run

    run = state.workspace_obj().run(run_id)
    executor = executor_for_run(state.workspace_obj(), run.run_id)
    if not executor.remote:
        raise RunError(f"run {run.run_id} ran locally; its files are in {run.path}")
    return run.run_id, executor


@hosts_cmd.command("fetch")
@click.argument("run_id")
@tailor_command
def fetch_cmd(state: CliState, run_id: str) -> None:
    """Bring a remote run's adapter, checkpoints, eval results and logs into its local folder."""
    rid, ex = _remote_executor(state, run_id)

    async def go() -> Any:
        try:
            return await ex.fetch(rid)
        finally:
            await ex.close()

    report = run_async(go())
    click.echo(f"{rid}: {report.describe(ex.host)}")
    click.echo(str(report.path))


@hosts_cmd.command("clean")
@click.argument("run_id")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@tailor_command
def clean_cmd(state: CliState, run_id: str, yes: bool) -> None:
    """Delete a finished run's directory on its host (the local copy stays)."""
    from tailor.engine.api.errors import RunError

    rid, ex = _remote_executor(state, run_id)
    if not yes and not click.confirm(f"Delete {rid} on {ex.host}? Fetched files stay here.", default=False):
        raise RunError(f"{rid}: nothing deleted")

    async def go() -> Any:
        try:
            return await ex.delete(rid)
        finally:
            await ex.close()

    click.echo(f"deleted {run_async(go())} on {ex.host}")
