"""docs/security.md: what is enforced on the templates, by which tool or rule, and every
scanner suppression with its reason.

The prose is `security.md.j2`; what must not drift is drawn from the code and the emitted
templates: the project's cfn-lint rules (their ids and descriptions), the statements allowed
a "*" resource, the services trusted without a source condition, and each checkov
suppression (check, resource type, where, reason), read from the templates' Metadata.
`python build.py` writes the page; `python build.py --check` fails when it is stale.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import jinja2

from tap import paths
from tap.blocks.iam import SOURCE_KEYS_UNSUPPORTED
from tap.emit import Emission
from tap.lint import RULES_DIR

SECURITY_DOCUMENT = "docs/security.md"
CHECKOV_CHECKS = paths.REPO / ".ci" / "checkov-cloudformation-checks.json"
# The shards of the microservices services stack hold the same resources per service.
_SHARD = re.compile(r"^(services)-\d+$")


@dataclass(frozen=True)
class RuleRow:
    id: str
    title: str
    description: str
    source_url: str
    file: str


@dataclass(frozen=True)
class SuppressionRow:
    check: str
    name: str
    resource_type: str
    where: str
    reason: str


def document(emissions: Iterable[Emission]) -> str:
    from tap.systems.bootstrap import DEPLOYED_SERVICES

    emissions = list(emissions)
    star_sids = _assignments(RULES_DIR / "policy_wildcards.py")["STAR_RESOURCE_SIDS"]
    return _environment().get_template("security.md.j2").render(
        rules=rules(),
        deployed_services=DEPLOYED_SERVICES,
        suppression_count=suppression_count(emissions),
        star_sids=sorted(star_sids.items()),
        unconditioned_trusts=sorted(SOURCE_KEYS_UNSUPPORTED.items()),
        suppressions=suppressions(emissions),
        checkov=_checkov()["checkov"],
    )


def rules() -> list[RuleRow]:
    """Each rule's documentation, read from its file's source: importing the rules would
    load cfn-lint, which a build without lint never needs (tests/lintrules checks that
    cfn-lint loads the same rules)."""
    found = []
    for path in sorted(RULES_DIR.glob("[A-Za-z]*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                fields = _assignments(node)
                found.append(RuleRow(fields["id"], fields["shortdesc"], fields["description"],
                                     fields["source_url"], f"src/tap/lintrules/{path.name}"))
    return sorted(found, key=lambda row: row.id)


def _assignments(source) -> dict:
    """Literal `NAME = value` assignments of a module (a path) or a class body (a node)."""
    body = ast.parse(source.read_text()).body if hasattr(source, "read_text") else source.body
    return {
        target.id: ast.literal_eval(node.value)
        for node in body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
        if not isinstance(node.value, (ast.Call, ast.Name, ast.Attribute, ast.Subscript))
    }


def suppressions(emissions: Iterable[Emission]) -> list[SuppressionRow]:
    """One row per (check, resource type, reason), naming every place it applies."""
    checks = _checkov()["checks"]
    places: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    for emission in emissions:
        system, _, environment = emission.folder.partition("/")
        for info in emission.templates:
            stack = _SHARD.sub(r"\1-*", info.stack.name)
            for logical_id, resource in json.loads(info.stack.body).get("Resources", {}).items():
                for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                    key = (skip["id"], resource["Type"], skip["comment"])
                    where = places.setdefault(key, {})
                    where.setdefault(f"{stack}/{logical_id}", set()).add(
                        f"{system} {environment}".strip())
    rows = []
    for (check, resource_type, reason), where in places.items():
        rows.append(SuppressionRow(
            check=check,
            name=checks.get(check, {}).get("name", "(not a CloudFormation check of this checkov)"),
            resource_type=resource_type,
            where=_where(where),
            reason=reason,
        ))
    return sorted(rows, key=lambda row: (_check_order(row.check), row.resource_type, row.where))


def suppression_count(emissions: Iterable[Emission]) -> int:
    return sum(
        len(resource.get("Metadata", {}).get("checkov", {}).get("skip", []))
        for emission in emissions
        for info in emission.templates
        for resource in json.loads(info.stack.body).get("Resources", {}).values()
    )


def _where(where: dict[str, set[str]]) -> str:
    """"distribution dev, prod: functions/LicenseApi, functions/UsageTracking" per group of
    environments that share the same places."""
    by_targets: dict[str, list[str]] = {}
    for place, targets in where.items():
        by_targets.setdefault(_targets(targets), []).append(place)
    return "; ".join(f"{targets}: {', '.join(sorted(set(places)))}"
                     for targets, places in sorted(by_targets.items()))


def _targets(targets: set[str]) -> str:
    systems: dict[str, list[str]] = {}
    for target in targets:
        system, _, environment = target.partition(" ")
        systems.setdefault(system, []).append(environment)
    return "; ".join(
        f"{system} {', '.join(sorted(filter(None, environments)))}".strip()
        for system, environments in sorted(systems.items())
    )


def _check_order(check: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", check))


@cache
def _checkov() -> dict:
    return json.loads(CHECKOV_CHECKS.read_text())


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("tap").joinpath(name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["cell"] = _cell
    return environment
