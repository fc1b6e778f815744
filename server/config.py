"""Settings: ``config/default.toml`` < ``$TRIALPUB_CONFIG`` < ``TRIALPUB_*`` < test config."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .resources import resource_path

ENV_PREFIX = "TRIALPUB_"
# Variables of these names configure something else than the service itself.
_NOT_SETTINGS = ("TRIALPUB_CONFIG", "TRIALPUB_TEST_")


def default_settings() -> dict[str, Any]:
    """Read the shipped defaults, the only place a setting is declared."""
    with resource_path("config", "default.toml").open("rb") as fh:
        return tomllib.load(fh)


def load_settings(
    test_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Layer every source of settings and check names and types against the defaults."""
    environ = os.environ if environ is None else environ
    settings = default_settings()
    file_name = environ.get(f"{ENV_PREFIX}CONFIG")
    if file_name:
        path = Path(file_name)
        try:
            with path.open("rb") as fh:
                from_file = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read {ENV_PREFIX}CONFIG file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{ENV_PREFIX}CONFIG file {path} is not valid TOML: {exc}") from None
        _merge(settings, from_file, f"config file {path}")
    from_env = {
        key[len(ENV_PREFIX):].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and not key.startswith(_NOT_SETTINGS)
    }
    _merge(settings, {k: _from_env(k, v, settings) for k, v in from_env.items()}, "environment")
    if test_config:
        _merge(settings, {k.lower(): v for k, v in test_config.items()}, "test config")
    return settings


def _merge(settings: dict[str, Any], new: Mapping[str, Any], origin: str) -> None:
    for key, value in new.items():
        if key not in settings:
            raise ConfigError(f"unknown setting {key!r} in {origin}")
        expected = type(settings[key])
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                f"setting {key!r} in {origin} must be {expected.__name__}, got {value!r}"
            )
        settings[key] = value


def _from_env(key: str, text: str, settings: Mapping[str, Any]) -> Any:
    """Convert an environment string to the type of the setting's default."""
    if key not in settings:
        raise ConfigError(f"unknown setting {key!r} in environment ({ENV_PREFIX}{key.upper()})")
    if isinstance(settings[key], str):
        return text
    try:
        # A TOML value reads numbers, booleans and lists the way the config file would.
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ConfigError(
            f"setting {key!r} in environment ({ENV_PREFIX}{key.upper()}) "
            f"must be {type(settings[key]).__name__}, got {text!r}"
        ) from None
