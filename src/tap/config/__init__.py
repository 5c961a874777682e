"""Load `config/<system>/<env>.toml` into frozen, validated settings.

Every mistake in a file becomes a `ConfigError` naming the file, the dotted
key, the bad value and what is allowed; an unknown system or environment
becomes a `UserError` listing the choices.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tap import paths
from tap.config.distribution import DistributionSettings
from tap.config.microservices import MicroservicesSettings
from tap.config.schema import Invalid, parse
from tap.errors import ConfigError, UserError

SETTINGS_CLASSES = {
    "distribution": DistributionSettings,
    "microservices": MicroservicesSettings,
}
SYSTEMS = tuple(sorted(SETTINGS_CLASSES))
_ENV_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def check_system(system: str) -> str:
    if system not in SETTINGS_CLASSES:
        raise UserError(f"unknown system {system!r}; allowed: {', '.join(SYSTEMS)}")
    return system


def environments(system: str, config_dir: Path = paths.CONFIG_DIR) -> tuple[str, ...]:
    """The environments of `system`: one TOML file each in config/<system>/."""
    check_system(system)
    return tuple(sorted(path.stem for path in (config_dir / system).glob("*.toml")))


def config_file(system: str, env: str, config_dir: Path = paths.CONFIG_DIR) -> Path:
    known = environments(system, config_dir)
    if env not in known:
        choices = ", ".join(known) or f"none (no files in {config_dir / system})"
        raise UserError(f"unknown environment {env!r} for system {system!r}; allowed: {choices}")
    return config_dir / system / f"{env}.toml"


def load(system: str, env: str, config_dir: Path = paths.CONFIG_DIR):
    """The settings of one system in one environment."""
    path = config_file(system, env, config_dir)
    shown = _display_path(path, config_dir)
    if not _ENV_NAME.fullmatch(env):
        raise ConfigError(
            shown, "(file name)", f"environment name {env!r} is not allowed",
            "lower-case letters, digits and '-', starting with a letter, at most 32 characters",
        )
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{shown}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"{shown}: not valid UTF-8 text; TOML files must be UTF-8") from None
    try:
        return parse(SETTINGS_CLASSES[system], table, env=env)
    except Invalid as err:
        raise ConfigError(shown, err.key or "(top level)", err.problem, err.allowed) from None


def _display_path(path: Path, config_dir: Path) -> str:
    try:
        return str(path.relative_to(config_dir.parent))
    except ValueError:
        return str(path)
