"""Load `config/<system>/<env>.toml` into frozen, validated settings.

Every mistake in a file becomes a `ConfigError` naming the file, the dotted
key, the bad value and what is allowed; an unknown system or environment
becomes a `UserError` listing the choices.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tap import paths
from tap.config.schema import Invalid, parse
from tap.errors import ConfigError, UserError


@dataclass(frozen=True)
class System:
    """One system tap builds: the class of settings its config files hold and its build
    function, each named as `module:name`. Named, not imported: config sits below the
    systems, and a build of one system imports only that system's modules (`named`)."""

    settings: str
    build: str


# Every system, once: adding a system means adding its row here.
REGISTRY: Mapping[str, System] = MappingProxyType({
    "distribution": System("tap.config.distribution:DistributionSettings", "tap.systems.distribution:build"),
    "microservices": System("tap.config.microservices:MicroservicesSettings", "tap.systems.microservices:build"),
})
SYSTEMS = tuple(sorted(REGISTRY))
_ENV_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def named(reference: str) -> Any:
    """What a registry row names (`module:name`), imported."""
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


def check_system(system: str) -> str:
    if system not in REGISTRY:
        raise UserError(f"unknown system {system!r}; allowed: {', '.join(SYSTEMS)}")
    return system


def environments(system: str, config_dir: Path = paths.CONFIG_DIR) -> tuple[str, ...]:
    """The environments of `system`: one TOML file each in config/<system>/, at least one."""
    check_system(system)
    folder = config_dir / system
    found = tuple(sorted(path.stem for path in folder.glob("*.toml"))) if folder.is_dir() else ()
    if not found:
        present = sorted(_display_path(path, config_dir) for path in config_dir.glob("*/*.toml"))
        raise UserError(
            f"{_display_path(folder, config_dir)}/ holds no environment of system {system!r}; "
            f"allowed: one <env>.toml file per environment there (found: {', '.join(present) or 'none'})"
        )
    return found


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
    if not path.is_file():
        what = "a broken symbolic link" if path.is_symlink() and not path.exists() else "not a regular file"
        raise UserError(f"{shown}: is {what}; allowed: a TOML file (one per environment of {system})")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{shown}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"{shown}: not valid UTF-8 text; TOML files must be UTF-8") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise UserError(
            f"{shown}: arrays or inline tables nested too deeply to parse; allowed: the nesting "
            "the settings use (a few levels)"
        ) from None
    except OSError as err:
        raise UserError(f"{shown}: cannot be read ({err.strerror}); allowed: a readable TOML file") from None
    try:
        return parse(named(REGISTRY[system].settings), table, env=env)
    except Invalid as err:
        raise located(err, system, env, config_dir) from None


def located(err: Invalid, system: str, env: str, config_dir: Path = paths.CONFIG_DIR) -> ConfigError:
    """`err` as the mistake it is in config/<system>/<env>.toml: for what only a system
    can see when it composes the settings (two names that make one logical id)."""
    shown = _display_path(config_dir / system / f"{env}.toml", config_dir)
    return ConfigError(shown, err.key or "(top level)", err.problem, err.allowed)


def _display_path(path: Path, config_dir: Path) -> str:
    try:
        return str(path.relative_to(config_dir.parent))
    except ValueError:
        return str(path)
