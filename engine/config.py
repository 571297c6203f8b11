"""Tailor's one settings model.

Read from ``$TAILOR_CONFIG`` when set, else ``<XDG config dir>/tailor/config.toml``; any field can be
overridden from the environment as ``TAILOR_<FIELD>`` (nested: ``TAILOR_KEYMAP__RUNS_CANCEL=x``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.errors import TailorError

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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAILOR_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    workspace: Path = Field(default_factory=default_workspace, description="Workspace directory.")
    theme: str = Field("textual-dark", description="Textual theme name.")
    keymap: dict[str, str] = Field(
        default_factory=dict, description="Binding id -> keys, e.g. {'runs.cancel': 'ctrl+x'}."
    )
    log_max_lines: int = Field(5000, gt=0, description="Lines kept in a run's log view.")
    heartbeat_timeout_s: float = Field(
        30.0, gt=0, description="A running worker whose heartbeat is older than this counts as dead."
    )
    # TUI settings (see docs/tui.md).
    start_screen: str = Field("runs", description="Screen shown when `tailor` opens (datasets, search, runs...).")
    runs_rescan_s: float = Field(2.0, gt=0, description="Seconds between light re-scans of the runs folder.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_path()))


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning validation errors into one-line messages that name the file and field."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise TailorError(f"{config_path()}: {loc}: {err['msg']}") from None
    except Exception as exc:  # a TOML syntax error, unreadable file...
        raise TailorError(f"{config_path()}: cannot read config: {exc}") from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
