"""docs/console.md: deploying from the AWS console, for someone without the CLI.

The prose (the link, creating through a change set, updating, reviewing nested change
sets) is `console_guide.md.j2`; the part that must not drift is drawn from the emitted
root templates of every system, environment and the bootstrap: each root parameter with
its own Description, AllowedValues/AllowedPattern/ConstraintDescription and Default, and
the capabilities the console asks to acknowledge. `python build.py` writes the page;
`python build.py --check` fails when it is stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from tap.deploy.launch import LINK_LIMIT, is_no_echo, required_capabilities
from tap.emit import Emission

CONSOLE_DOCUMENT = "docs/console.md"
BOOTSTRAP = "bootstrap"  # tap.build.BOOTSTRAP; tap.build imports this module


@dataclass(frozen=True)
class ParameterRow:
    name: str
    environments: str  # "" when every environment of the system declares it alike
    description: str
    allowed: str
    default: str


@dataclass(frozen=True)
class SystemSection:
    system: str
    stack_names: str
    environments: tuple[str, ...]
    capabilities: tuple[str, ...]
    rows: tuple[ParameterRow, ...]

    @property
    def acknowledge(self) -> str:
        return " and ".join(f"`{name}`" for name in self.capabilities) or "no capability"


def document(emissions: Iterable[Emission]) -> str:
    """The page, from the emitted trees (bootstrap first, then the systems in order)."""
    by_system: dict[str, list[Emission]] = {}
    for emission in emissions:
        by_system.setdefault(emission.folder.split("/")[0], []).append(emission)
    ordered = sorted(by_system.items(), key=lambda item: (item[0] != BOOTSTRAP, item[0]))
    sections = [section(system, folders) for system, folders in ordered]
    return _environment().get_template("console_guide.md.j2").render(
        sections=sections, link_limit=f"{LINK_LIMIT:,}")


def section(system: str, emissions: list[Emission]) -> SystemSection:
    """One system: its root parameters across environments, one row per distinct
    declaration (a parameter declared alike everywhere is one row)."""
    emissions = sorted(emissions, key=lambda emission: emission.folder)
    environments = tuple(_environment_of(emission) for emission in emissions)
    declarations: dict[tuple[str, str], list[str]] = {}
    capabilities: set[str] = set()
    for emission, environment in zip(emissions, environments):
        templates = [json.loads(info.stack.body) for info in emission.templates]
        capabilities.update(required_capabilities(templates))
        for name, spec in json.loads(emission.root.body).get("Parameters", {}).items():
            declarations.setdefault((name, json.dumps(spec, sort_keys=True)), []).append(environment)
    rows = []
    for (name, spec), where in sorted(declarations.items()):
        everywhere = len(where) == len(environments)
        rows.append(_row(name, json.loads(spec), "" if everywhere else ", ".join(where)))
    stack_names = "tap-bootstrap" if system == BOOTSTRAP else f"tap-{system}-<env>"
    order = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
    return SystemSection(system, stack_names, environments if system != BOOTSTRAP else (),
                         tuple(c for c in order if c in capabilities), tuple(rows))


def _environment_of(emission: Emission) -> str:
    return emission.folder.split("/")[1] if "/" in emission.folder else ""


def _row(name: str, spec: Mapping[str, Any], environments: str) -> ParameterRow:
    allowed = []
    if spec.get("Type", "String") != "String":
        allowed.append(f"type `{_cell(spec['Type'])}`")
    if "AllowedValues" in spec:
        allowed.append(", ".join(f"`{_cell(value)}`" for value in spec["AllowedValues"]))
    if "ConstraintDescription" in spec:
        allowed.append(_text(spec["ConstraintDescription"]))
    if "AllowedPattern" in spec:
        allowed.append(f"matching `{_cell(spec['AllowedPattern'])}`")
    for key, text in (("MinLength", "at least {} characters"), ("MaxLength", "at most {} characters")):
        if key in spec:
            allowed.append(text.format(spec[key]))
    if is_no_echo(spec):
        allowed.append("NoEcho: never in a link, type it")
    if "Default" not in spec:
        default = "**required**"
    elif str(spec["Default"]) == "":
        default = "empty"
    else:
        default = f"`{_cell(spec['Default'])}`"
    return ParameterRow(name, environments, _text(spec.get("Description", "")),
                        "; ".join(allowed) or "any", default)


def _cell(text: Any) -> str:
    """Text fit for one Markdown table cell, as it stands inside a code span."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _text(text: Any) -> str:
    """Prose fit for one Markdown table cell: `<account>` would be read as HTML."""
    return _cell(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("tap").joinpath(name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
        trim_blocks=True, lstrip_blocks=True,
    )
