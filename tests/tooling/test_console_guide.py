"""docs/console.md: every root parameter of every shipped root template, described by the
template itself, and kept current by the build."""

from __future__ import annotations

import json
import re

import pytest

from tap import build, console_guide
from tap.emit import emit_tree
from tap.paths import REPO
from tap.stacktree import Stack

COMMITTED = REPO / console_guide.CONSOLE_DOCUMENT


def sections(text: str) -> dict[str, str]:
    """The text under each `### <system>` heading of the parameters part."""
    parameters = text.split("\n## Parameters\n", 1)[1]
    return dict(re.findall(r"^### (\S+)\n(.*?)(?=^### |\Z)", parameters, re.MULTILINE | re.DOTALL))


def rows(section: str) -> dict[str, list[str]]:
    """Table rows by parameter name: the cells after the name."""
    found = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(\w+)` \| (.*) \|$", line)
        if match:
            found[match[1]] = re.split(r" (?<!\\)\| ", match[2])
    return found


@pytest.fixture(scope="module")
def generated(built) -> str:
    return console_guide.document([target.emission for target in built.targets.values()])


def test_the_committed_guide_is_what_the_build_generates(generated):
    assert COMMITTED.read_text() == generated, "docs/console.md is stale: run `python build.py`"


def test_every_root_parameter_of_every_shipped_root_is_in_its_systems_section(built, generated):
    by_system = sections(generated)
    for folder, target in built.targets.items():
        declared = json.loads(target.emission.root.body).get("Parameters", {})
        listed = rows(by_system[target.system])
        missing = sorted(set(declared) - set(listed))
        assert not missing, f"docs/console.md does not list {missing} of templates/{folder}"


def test_a_parameter_is_described_by_its_own_template(built, generated):
    root = json.loads(built.targets["microservices/prod"].emission.root.body)["Parameters"]
    spec = root["LoadBalancerCertificateArn"]
    environments, meaning, allowed, default = rows(sections(generated)["microservices"])[
        "LoadBalancerCertificateArn"]
    assert (environments, meaning, default) == ("prod, staging", spec["Description"], "**required**")
    # The template's own words, escaped for a Markdown table cell.
    constraint = spec["ConstraintDescription"].replace("<", "&lt;").replace(">", "&gt;")
    assert allowed == f"{constraint}; matching `{spec['AllowedPattern'].replace('|', chr(92) + '|')}`"
    bootstrap = rows(sections(generated)["bootstrap"])
    assert bootstrap["ConfigureApiGatewayLogging"][1:] == ["`true`, `false`", "`true`"]


def test_the_capabilities_to_tick_come_from_the_templates(generated):
    by_system = sections(generated)
    assert "acknowledge `CAPABILITY_NAMED_IAM`." in by_system["bootstrap"]
    assert "acknowledge `CAPABILITY_IAM` and `CAPABILITY_AUTO_EXPAND`." in by_system["distribution"]


def small_root(env: str, extra: bool) -> Stack:
    root = Stack.root("root", "r")
    root.parameter("Email", Description="who <to> tell | paged", AllowedPattern="^a|b$")
    if extra:
        root.parameter("CertificateArn", Description="only in prod", Default="")
    return root


def test_a_parameter_declared_in_some_environments_names_them_and_cells_stay_one_cell():
    emissions = [emit_tree(small_root(env, env == "prod"), f"demo/{env}", {}) for env in ("dev", "prod")]
    section = sections(console_guide.document(emissions))["demo"]
    listed = rows(section)
    assert listed["CertificateArn"] == ["prod", "only in prod", "any", "empty"]
    assert listed["Email"] == ["all", "who &lt;to&gt; tell \\| paged", "matching `^a\\|b$`", "**required**"]
    assert "Stacks `tap-demo-<env>` (dev, prod)." in section


def test_check_reports_a_stale_console_guide(tmp_path, capsys):
    templates = tmp_path / "templates"
    assert build.main(["--no-lint"], templates_dir=templates) == 0
    guide = tmp_path / "docs" / "console.md"
    assert guide.read_text().startswith("# Deploying from the AWS console")
    guide.write_text(guide.read_text().replace("| `SigningPublicKey` |", "| `Renamed` |"))
    capsys.readouterr()
    assert build.main(["--check", "--no-lint"], templates_dir=templates) == 1
    assert "docs/console.md (differs)" in capsys.readouterr().err
