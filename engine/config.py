"""Tailor's one settings model.

Read from ``$TAILOR_CONFIG`` when set, else ``<XDG config dir>/tailor/config.toml``; any field can be
overridden from the environment as ``TAILOR_<FIELD>`` (nested: ``TAILOR_TUI__THEME=textual-light``).

Settings only the terminal app reads live in the ``[tui]`` section (:class:`TuiSettings`). The flat keys
they had before (``theme = ...`` at the top level, ``TAILOR_THEME``) still load, each with a one-line
note naming the new key (``Settings.notes``; the ``settings()`` loader prints them on stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tailor.engine.errors import TailorError

APP = "tailor"


def config_path() -> Path:
    env = os.environ.get("TAILOR_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_workspace() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "workspace"


def cache_dir() -> Path:
    """Where built artefacts (the tiny model, indexes) are cached; ``$TAILOR_CACHE`` overrides."""
    env = os.environ.get("TAILOR_CACHE")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir(APP))


class TuiSettings(BaseModel):
    """The ``[tui]`` section: settings only the terminal app reads (see docs/tui.md)."""

    model_config = ConfigDict(extra="forbid")

    theme: str = Field("textual-dark", description="Textual theme name.")
    keymap: dict[str, str] = Field(
        default_factory=dict, description="Binding id -> keys, e.g. {'runs.cancel': 'ctrl+x'}."
    )
    start_screen: str = Field("runs", description="Screen shown when `tailor` opens (datasets, search, runs...).")
    rescan_s: float = Field(2.0, gt=0, description="Seconds between light re-scans of the runs folder and studies.")
    log_max_lines: int = Field(5000, gt=0, description="Lines kept in a run's log view.")
    runs_columns: list[str] = Field(
        default_factory=list,
        description="Runs table columns from 110 columns wide on, e.g. ['run', 'method', 'r', 'lr', 'model', "
        "'host', 'state', 'loss']; keys: run kind method r lr model trial host state step loss eval elapsed eta. "
        "Empty: chosen per width.",
    )


#: Flat keys of before -> their key in the ``tui`` section.
MOVED_TO_TUI = {
    "theme": "theme",
    "keymap": "keymap",
    "start_screen": "start_screen",
    "runs_rescan_s": "rescan_s",
    "log_max_lines": "log_max_lines",
}

_notes: ContextVar[list[str] | None] = ContextVar("tailor_config_notes", default=None)


def _note(text: str) -> None:
    notes = _notes.get()
    if notes is not None and text not in notes:
        notes.append(text)


def nest_moved_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with the flat TUI keys moved under ``tui`` (an explicit ``tui`` value wins), one note each."""
    moved = {old: data[old] for old in MOVED_TO_TUI if old in data}
    if not moved:
        return data
    out = {k: v for k, v in data.items() if k not in moved}
    tui = out.get("tui")
    if tui is not None and not isinstance(tui, dict):
        return data  # let validation report the bad `tui` value
    nested = {MOVED_TO_TUI[old]: value for old, value in moved.items()}
    out["tui"] = {**nested, **(tui or {})}
    for old in moved:
        _note(f"{where}'{old}' is now 'tui.{MOVED_TO_TUI[old]}'")
    return out


class _MovedKeys(PydanticBaseSettingsSource):
    """Another source's values, with the flat TUI keys of before moved under ``tui``."""

    def __init__(self, settings_cls: type[BaseSettings], source: PydanticBaseSettingsSource, where: str) -> None:
        super().__init__(settings_cls)
        self.source, self.where = source, where

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return nest_moved_keys(self.source(), self.where)


class _MovedEnv(PydanticBaseSettingsSource):
    """The flat TUI environment variables of before (``TAILOR_THEME``...), as ``tui`` values."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = {k.upper(): v for k, v in os.environ.items()}
        tui: dict[str, Any] = {}
        for old, new in MOVED_TO_TUI.items():
            name = f"TAILOR_{old.upper()}"
            if name in env:
                value: Any = env[name]
                if old == "keymap":
                    with contextlib.suppress(ValueError):  # else validation reports it
                        value = json.loads(value)
                tui[new] = value
                _note(f"{name} is now TAILOR_TUI__{new.upper()}")
        return {"tui": tui} if tui else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAILOR_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    workspace: Path = Field(default_factory=default_workspace, description="Workspace directory.")
    heartbeat_timeout_s: float = Field(
        30.0, gt=0, description="A running worker whose heartbeat is older than this counts as dead."
    )
    gpu_idle_timeout_s: float = Field(
        300.0, gt=0, description="A running worker whose GPUs sit idle this long with memory held is stalled."
    )
    worker_threads: int | None = Field(
        None, gt=0, description="CPU threads per worker (default: the usable cores shared among live workers)."
    )
    warm_workers_idle_s: float = Field(
        600.0, ge=0,
        description="A warm parent with the training stack imported forks local workers, and leaves after this "
        "many idle seconds (engine/worker/warm.py); 0 starts every worker as a fresh process.",
    )
    tui: TuiSettings = Field(default_factory=TuiSettings, description="Terminal app settings ([tui], docs/tui.md).")

    _notes: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, **values: Any) -> None:
        token = _notes.set([])
        try:
            super().__init__(**values)
            self._notes = list(_notes.get() or [])
        finally:
            _notes.reset(token)

    @property
    def notes(self) -> list[str]:
        """One line per old flat key that was loaded: ``config.toml: 'theme' is now 'tui.theme'``."""
        return list(self._notes)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (
            _MovedKeys(settings_cls, init_settings, ""),
            env_settings,
            _MovedEnv(settings_cls),
            _MovedKeys(settings_cls, toml, f"{config_path()}: "),
        )


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning validation errors into one-line messages that name the file and field."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise TailorError(f"{config_path()}: {loc}: {err['msg']}") from None
    except Exception as exc:  # a TOML syntax error, unreadable file...
        raise TailorError(f"{config_path()}: cannot read config: {exc}") from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings, loaded once; notes about renamed keys go to stderr (once)."""
    loaded = load_settings()
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    return loaded
