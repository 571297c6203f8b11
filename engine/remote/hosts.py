"""SSH hosts: the ``hosts:`` and ``ssh:`` sections of the workspace's workspace.yaml, plus ~/.ssh/config.

Example workspace.yaml::

    ssh:
      config: ~/.ssh/config            # OpenSSH client config read for aliases (HostName, User, ...)
      known_hosts: ~/.ssh/known_hosts  # host keys are verified against this file, always
    hosts:
      gpu1:
        hostname: 10.0.0.5             # anything left out comes from ~/.ssh/config, then defaults
        user: alice
        port: 22
        identity_file: ~/.ssh/id_ed25519
        proxy_jump: bastion            # another host here or in ~/.ssh/config
        python: /opt/venv/bin/python   # an interpreter with Tailor installed (else `tailor hosts setup`)
        workdir: ~/.tailor             # remote root: workspace/ (runs, data store), venv/, wheels/
        env: {HF_HOME: /scratch/hf}    # non-secret environment for remote commands and workers

A host only in ~/.ssh/config works too: ``tailor run --host box`` with ``Host box`` there.

An entry's ``type:`` (default ``ssh``) picks its executor (engine/executors/registry.py), and that
executor's ``host_settings`` model validates the entry: ``SSHHost`` here, ``SlurmHost`` (adding ``slurm:``)
in engine/remote/slurm_spec.py.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tailor.engine.errors import HostError
from tailor.engine.executors.registry import DEFAULT_HOST_TYPE
from tailor.engine.fsutil import atomic_write_text
from tailor.engine.workspace import Workspace

ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESERVED = {"local", "localhost"}


class SetupSpec(BaseModel):
    """How `tailor hosts setup` builds the remote environment."""

    model_config = ConfigDict(extra="forbid")

    python: str = Field("python3", description="Interpreter used to create the venv on the host.")
    system_site_packages: bool = Field(False, description="Let the venv see the host's torch/CUDA install.")
    pip_args: list[str] = Field(
        default_factory=list, description="Extra pip install arguments (index URL...)."
    )


class SSHHost(BaseModel):
    """A ``type: ssh`` host entry: how to reach the host and where Tailor lives there.

    Every configured host is reached over SSH, so another type's settings model subclasses this one and
    adds its own section (``SlurmHost`` in engine/remote/slurm_spec.py adds ``slurm:``); the executor of a
    type names its model (``Executor.host_settings``) and ``parse_host`` validates an entry with it.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    #: Which executor serves this host (engine/executors/registry.py); older files without it are ssh.
    type: str = DEFAULT_HOST_TYPE
    hostname: str | None = None
    user: str | None = None
    port: int | None = Field(None, gt=0, lt=65536)
    identity_file: list[str] | None = None
    proxy_jump: str | None = None
    agent: bool = Field(True, description="Use the ssh-agent ($SSH_AUTH_SOCK) for keys.")
    python: str | None = None
    workdir: str = "~/.tailor"
    env: dict[str, str] = Field(default_factory=dict)
    forward_env: list[str] = Field(default_factory=list, description="More secret variable names to forward.")
    setup: SetupSpec = Field(default_factory=SetupSpec)
    connect_timeout: float = Field(15.0, gt=0)
    #: Where this host came from: "workspace" or "ssh_config" (not saved).
    source: str = Field("workspace", exclude=True)

    @field_validator("name")
    @classmethod
    def _alias(cls, v: str) -> str:
        if not ALIAS_RE.match(v) or v in RESERVED:
            raise ValueError("a host name uses letters, digits, '.', '_' and '-' (and is not 'local')")
        return v

    @field_validator("env")
    @classmethod
    def _no_secrets(cls, v: dict[str, str]) -> dict[str, str]:
        """Checked before anything is saved: a secret in workspace.yaml would sit on disk in clear."""
        from tailor.engine.remote.quoting import ENV_NAME_RE, SECRET_ENV, secret_reason

        for key, value in v.items():
            if not ENV_NAME_RE.fullmatch(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
            reason = secret_reason(key, value)
            if reason is None:
                continue
            forward = "" if key in SECRET_ENV else f" and name it in forward_env (`--forward-env {key}`)"
            raise ValueError(  # the value itself is never repeated: not here, not in any error around it
                f"{reason}: never set it in env: (saved in workspace.yaml, visible in `ps` on the host); "
                f"export {key} in your shell{forward} and Tailor forwards it on stdin"
            )
        return v

    @field_validator("forward_env")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        from tailor.engine.remote.quoting import ENV_NAME_RE

        for name in v:
            if not ENV_NAME_RE.fullmatch(name):
                raise ValueError(f"{name[:64]!r} is not a valid environment variable name")
        return v

    @field_validator("identity_file", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    # -- derived paths on the host (``~`` is expanded there, see ``expand``) -------------
    @property
    def remote_workspace(self) -> str:
        return f"{self.workdir.rstrip('/')}/workspace"

    @property
    def venv_python(self) -> str:
        return f"{self.workdir.rstrip('/')}/venv/bin/python"

    @property
    def remote_python(self) -> str:
        return self.python or self.venv_python

    def to_yaml_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"name", "type"}, exclude_defaults=True)
        # ``type`` is written whenever it is not ssh, even where it is the model's default.
        return data if self.type == DEFAULT_HOST_TYPE else {"type": self.type, **data}


class SSHSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: str = "~/.ssh/config"
    known_hosts: str = "~/.ssh/known_hosts"

    @property
    def config_path(self) -> Path:
        return Path(self.config).expanduser()

    @property
    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts).expanduser()


# -- workspace.yaml ----------------------------------------------------------------------
def read_config(ws: Workspace) -> dict[str, Any]:
    path = ws.config_file
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise HostError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise HostError(f"{path}: workspace.yaml must be a mapping")
    return data


def write_config(ws: Workspace, data: dict[str, Any]) -> None:
    """Rewrite workspace.yaml; only our sections change (other keys are kept, comments are not)."""
    atomic_write_text(ws.config_file, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def ssh_settings(ws: Workspace) -> SSHSettings:
    raw = read_config(ws).get("ssh") or {}
    try:
        return SSHSettings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise HostError(f"{ws.config_file}: ssh.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def workspace_hosts(ws: Workspace) -> dict[str, SSHHost]:
    raw = read_config(ws).get("hosts") or {}
    if not isinstance(raw, dict):
        raise HostError(f"{ws.config_file}: hosts: must be a mapping of host name -> settings")
    out: dict[str, SSHHost] = {}
    for name, body in raw.items():
        out[str(name)] = _parse_host(ws, str(name), body or {})
    return out


def _parse_host(ws: Workspace, name: str, body: Any) -> SSHHost:
    if not isinstance(body, dict):
        raise HostError(f"{ws.config_file}: hosts.{name}: must be a mapping")
    try:
        return parse_host(name, body)
    except _Invalid as exc:
        raise HostError(f"{ws.config_file}: hosts.{name}.{exc.loc}: {exc.msg}") from None


def new_host(name: str, body: dict[str, Any]) -> SSHHost:
    """A host entry from ``tailor hosts add`` or the TUI's Hosts screen, validated by its type's model."""
    try:
        return parse_host(name, body)
    except _Invalid as exc:
        raise HostError(f"host {name!r}: {exc.loc}: {exc.msg}") from None


class _Invalid(ValueError):
    def __init__(self, loc: str, msg: str) -> None:
        super().__init__(f"{loc}: {msg}")
        self.loc, self.msg = loc, msg


def parse_host(name: str, body: dict[str, Any]) -> SSHHost:
    """Validate a host entry with the settings model its ``type`` names (no ``type``: ssh)."""
    type_ = body.get("type", DEFAULT_HOST_TYPE)
    model = _settings_model(type_)
    try:
        return model.model_validate({**body, "name": name})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            raise _Invalid(loc, _foreign_field(type_, loc)) from None
        raise _Invalid(loc, err["msg"].removeprefix("Value error, ")) from None


def _settings_model(type_: Any) -> type[SSHHost]:
    from tailor.engine.executors.registry import executor_class, host_types

    try:
        model = executor_class(str(type_)).host_settings
    except HostError as exc:
        raise _Invalid("type", str(exc)) from None
    if str(type_) not in host_types():  # ``local`` is this machine, never a host entry
        raise _Invalid("type", f"unknown host type {type_!r}; use one of {', '.join(host_types())}")
    if model is None or not issubclass(model, SSHHost):
        raise _Invalid("type", f"host type {type_!r} has no host settings model (an SSHHost subclass)")
    return model


def _foreign_field(type_: str, field: str) -> str:
    """Why ``field`` is refused on a ``type_`` host, and the fix when another type has that setting."""
    from tailor.engine.executors.registry import host_types

    owners = []
    for other in host_types():
        try:
            if field in _settings_model(other).model_fields:
                owners.append(other)
        except _Invalid:  # a plug-in type that cannot load here says nothing about this field
            continue
    if not owners:
        return f"a `type: {type_}` host has no {field!r} setting"
    return f"a `type: {type_}` host has no {field}: section; add `type: {owners[0]}` to this host, or remove {field}:"


def ssh_config_aliases(path: Path) -> list[str]:
    """Concrete ``Host`` aliases in an OpenSSH client config (patterns such as ``*.corp`` are skipped)."""
    out: list[str] = []
    for file in _config_files(path, set()):
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            words = line.strip().split()
            if len(words) >= 2 and words[0].lower() == "host":
                for word in words[1:]:
                    if not any(c in word for c in "*?!") and ALIAS_RE.match(word) and word not in out:
                        out.append(word)
    return out


def _config_files(path: Path, seen: set[Path]) -> list[Path]:
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    files = [path]
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.strip().split()
        if len(words) >= 2 and words[0].lower() == "include":
            for pattern in words[1:]:
                p = Path(pattern).expanduser()
                base = p if p.is_absolute() else path.parent / p
                for match in sorted(base.parent.glob(base.name)):
                    files += _config_files(match, seen)
    return files


def all_hosts(ws: Workspace) -> dict[str, SSHHost]:
    """Workspace hosts first, then ~/.ssh/config aliases not defined in the workspace."""
    hosts = workspace_hosts(ws)
    for alias in ssh_config_aliases(ssh_settings(ws).config_path):
        if alias not in hosts and alias not in RESERVED:
            hosts[alias] = SSHHost(name=alias, source="ssh_config")
    return hosts


def get_host(ws: Workspace, name: str) -> SSHHost:
    hosts = all_hosts(ws)
    if name in hosts:
        return hosts[name]
    raise HostError(
        f"unknown host {name!r}: add it with `tailor hosts add {name} --hostname ADDRESS` "
        f"or define `Host {name}` in {ssh_settings(ws).config}"
    )


def save_host(ws: Workspace, host: SSHHost) -> None:
    data = read_config(ws)
    hosts = data.get("hosts") or {}
    hosts[host.name] = host.to_yaml_dict()
    data["hosts"] = hosts
    write_config(ws, data)


def remove_host(ws: Workspace, name: str) -> None:
    data = read_config(ws)
    hosts = data.get("hosts") or {}
    if name not in hosts:
        raise HostError(
            f"{ws.config_file}: no host {name!r} in hosts: (hosts only in ~/.ssh/config stay there)"
        )
    del hosts[name]
    data["hosts"] = hosts
    write_config(ws, data)


def update_host(ws: Workspace, name: str, changes: dict[str, Any]) -> SSHHost:
    """Apply field changes (None removes a field) to a host and save it into the workspace."""
    base = get_host(ws, name).to_yaml_dict()
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    host = _parse_host(ws, name, base)
    save_host(ws, host)
    return host


# -- resolution through ~/.ssh/config --------------------------------------------------------
class Resolved(BaseModel):
    """Where a host actually points, for display and for the known_hosts lookup."""

    hostname: str
    port: int
    user: str
    identity_files: list[str]
    proxy_jump: str | None


def resolve(host: SSHHost, settings: SSHSettings) -> Resolved:
    from asyncssh.config import SSHClientConfig  # asyncssh only when needed

    cfg_path = settings.config_path
    paths = [cfg_path] if cfg_path.is_file() else []
    local_user = getpass.getuser()
    cfg = SSHClientConfig.load(
        None, paths, False, False, False, local_user, host.user or (), host.name, host.port or ()
    )
    jump = host.proxy_jump or cfg.get("ProxyJump")
    return Resolved(
        hostname=host.hostname or cfg.get("Hostname") or host.name,
        port=int(host.port or cfg.get("Port") or 22),  # type: ignore[call-overload]  # asyncssh: get() -> object
        user=host.user or cfg.get("User") or local_user,
        identity_files=list(host.identity_file or cfg.get("IdentityFile") or []),  # type: ignore[call-overload]
        proxy_jump=None if jump in (None, "none") else str(jump),
    )
