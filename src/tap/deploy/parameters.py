"""Deploy-time values of a root stack's parameters, from one file per environment.

`config/<system>/<env>.parameters.json` holds them in CloudFormation's own shape
(`[{"ParameterKey": ..., "ParameterValue": ...}]`), so the command line, CI and the
console deploy with the same values. `--parameter Key=Value` overrides the file
(`Key=file://path` reads a file, for a PEM key). Settings of `config/<system>/<env>.toml`
that differ per account (certificate, web ACL, connection and secret ARNs) are root
parameters too, so no template holds an account's ARN; the build records the config's
values in the manifest (`parameters`), and they apply unless the file or `--parameter`
gives another. A required parameter with no value is kept from the deployed stack when there is
one, and otherwise refused before anything is uploaded.

`for_release` is the one answer to "what does a deploy of this release pass": the
deploy, the console's launch links and StackSets all use it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap.errors import UserError

if TYPE_CHECKING:
    from tap.deploy.artifacts import Release

PARAMETERS_SUFFIX = ".parameters.json"
FILE_PREFIX = "file://"


@dataclass(frozen=True)
class Value:
    """A parameter's value and where it came from; `value` None keeps the deployed one."""

    name: str
    value: str | None
    source: str

    def as_cloudformation(self) -> dict[str, Any]:
        if self.value is None:
            return {"ParameterKey": self.name, "UsePreviousValue": True}
        return {"ParameterKey": self.name, "ParameterValue": self.value}


def parameters_file(config_dir: Path, system: str, env: str) -> Path:
    return config_dir / system / f"{env}{PARAMETERS_SUFFIX}"


def config_file(config_dir: Path, system: str, env: str) -> Path:
    return config_dir / system / f"{env}.toml"


def for_release(
    release: "Release",
    config_dir: Path,
    overrides: Mapping[str, str],
    deployed: frozenset[str] = frozenset(),
) -> list[Value]:
    """The values a deploy of `release` passes to its root stack, each with its source:
    `overrides` (--parameter), then config/<system>/<env>.parameters.json, then the
    config's own values the build recorded in the manifest (config/<system>/<env>.toml);
    then a template default; then, for a required
    parameter, the deployed stack's value (`deployed`: the parameters it has)."""
    declared = release.template(release.manifest["root"]).get("Parameters", {})
    if release.env is None:  # the bootstrap: no config, no file
        return resolve(declared, {}, "--parameter", overrides, deployed)
    path = parameters_file(config_dir, release.system, release.env)
    return resolve(
        declared, read_file(path), _relative(path, config_dir), overrides, deployed,
        configured=release.manifest.get("parameters", {}),
        configured_label=_relative(config_file(config_dir, release.system, release.env), config_dir),
    )


def _relative(path: Path, config_dir: Path) -> str:
    """`config/...` as a person reads it from the checkout."""
    base = config_dir.parent
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def read_file(path: Path) -> dict[str, str]:
    """The values of a parameters file; no file means no values."""
    if not path.is_file():
        return {}
    shape = 'a JSON list of {"ParameterKey": "...", "ParameterValue": "..."}'
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error}); allowed: {shape}") from None
    if not isinstance(entries, list):
        raise UserError(f"{path}: the top level is not a list; allowed: {shape}")
    values: dict[str, str] = {}
    for index, entry in enumerate(entries):
        if not (isinstance(entry, dict) and set(entry) == {"ParameterKey", "ParameterValue"}
                and all(isinstance(v, str) for v in entry.values())):
            raise UserError(f"{path}: entry [{index}] is {json.dumps(entry)}; allowed: {shape}, "
                            "both strings")
        key = entry["ParameterKey"]
        if key in values:
            raise UserError(f"{path}: {key} is given twice; allowed: each parameter once")
        values[key] = entry["ParameterValue"]
    return values


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`--parameter Key=Value` options; `Key=file://path` reads the file's text."""
    values: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise UserError(f"--parameter {item!r}: allowed: Key=Value or Key=file://path")
        if value.startswith(FILE_PREFIX):
            path = Path(value[len(FILE_PREFIX):]).expanduser()
            try:
                value = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise UserError(f"--parameter {key}: cannot read {path}: {error}") from None
        values[key] = value
    return values


def resolve(
    declared: Mapping[str, Mapping[str, Any]],
    file_values: Mapping[str, str],
    file_label: str,
    overrides: Mapping[str, str],
    deployed: frozenset[str] = frozenset(),
    *,
    configured: Mapping[str, str] = {},
    configured_label: str = "the config",
) -> list[Value]:
    """Every parameter the root declares (`declared`: the template's Parameters section)
    that gets a value: from --parameter, the file, the config (`configured`: the values
    the build recorded, from the config file `configured_label`), or the deployed
    stack. Parameters with a default and no value are left out, so the
    template's default applies."""
    for origin, given in (("--parameter", overrides), (file_label, file_values),
                          (configured_label, configured)):
        for name in given:
            if name not in declared:
                raise UserError(_unknown(name, origin, declared))
    values = []
    for name, spec in sorted(declared.items()):
        if name in overrides:
            value = Value(name, overrides[name], "--parameter")
        elif name in file_values:
            value = Value(name, file_values[name], file_label)
        elif name in configured:
            value = Value(name, configured[name], configured_label)
        elif "Default" in spec:
            continue
        elif name in deployed:
            value = Value(name, None, "kept from the deployed stack")
        else:
            raise UserError(
                f"parameter {name} has no value and no default; set it in {file_label} "
                f'([{{"ParameterKey": "{name}", "ParameterValue": "..."}}]) or pass '
                f"--parameter {name}=VALUE (or {name}=file://PATH)"
            )
        check_constraints(value, spec)
        values.append(value)
    return values


def check_constraints(value: Value, spec: Mapping[str, Any]) -> None:
    """AllowedValues and AllowedPattern, checked here so a bad value stops the deploy
    before anything is uploaded. A value kept from the deployed stack is not checked again."""
    if value.value is None:
        return
    allowed = spec.get("AllowedValues")
    if allowed is not None and value.value not in allowed:
        raise UserError(f"parameter {value.name} ({value.source}): {value.value!r} is not allowed; "
                        f"allowed: {', '.join(allowed)}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value.value) is None:
        wanted = spec.get("ConstraintDescription") or f"a value matching {pattern}"
        raise UserError(f"parameter {value.name} ({value.source}): {_shown(value.value)} is not "
                        f"allowed; allowed: {wanted}")


def _shown(text: str) -> str:
    """A value fit to print: a long or multi-line one (a key file, perhaps a private key
    passed by mistake) by its first line only."""
    if len(text) <= 40 and "\n" not in text:
        return repr(text)
    return f"{text.splitlines()[0][:40]!r}... ({len(text)} characters)"


def _unknown(name: str, origin: str, declared: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"{origin}: the root stack has no parameter {name!r}{hint}; "
            f"allowed: {', '.join(sorted(declared))}")
