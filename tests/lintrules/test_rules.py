"""The project's cfn-lint rules: each catches its bad fixture and passes its good one,
through the build's lint step (tap.lint) and through the `cfn-lint` command line.

A fixture is `templates/{good,bad}/<rule file>.json`, or `templates/{good,bad}/prod/`
for a rule that holds in prod only: a template's folder names its environment, as
in the build's `templates/<system>/<env>/`, and both paths lint it under its path."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.helpers import load_plugins

from tap import paths
from tap.lint import RULES_DIR, Linter

FIXTURES = Path(__file__).with_name("templates")
RULE_FILES = sorted(path.stem for path in RULES_DIR.glob("[A-Za-z]*.py"))

# What each bad fixture breaks, as (rule id, number of findings).
CAUGHT = {
    "bucket_policy_tls": ("E9005", 1),     # no Deny on aws:SecureTransport
    "cloudfront_oac": ("E9006", 1),        # an S3 origin behind a legacy origin access identity
    "deletion_protection": ("E9014", 5),   # in prod: a database unset, a cluster by Ref, a table
                                           # false, a global table's replica unset, a load balancer
    "ecs_service": ("E9007", 2),           # no rollback; a public IP
    "gateway_attachment": ("E9011", 2),    # the EIP, and the NAT gateway through it
    "lambda_edge": ("E9009", 5),           # environment, memory, timeout, tracing, deletable version
    "literal_locations": ("E9003", 5),     # partition, account and region in an ARN; a region; the bucket
    "log_retention": ("E9012", 1),         # no RetentionInDays
    "no_exports": ("E9002", 2),            # an Export and an Fn::ImportValue
    "policy_wildcards": ("E9004", 3),      # Action *, s3:* on *, a topic policy on *
    "private_buckets": ("E9013", 2),       # three public access flags missing; no encryption
    "service_trust": ("E9010", 2),         # CodeBuild and ECS tasks trusted without a source condition
    "stateful_resources": ("E9001", 2),    # a table deleted with its stack and on replacement
    "task_definition": ("E9008", 4),       # privileged; writable root; a secret-like name; a resolved secret
}


def _rules_by_file() -> dict[str, object]:
    return {type(rule).__module__: rule for rule in load_plugins(str(RULES_DIR))}


def _fixture(kind: str, name: str) -> Path:
    [path] = (FIXTURES / kind).rglob(f"{name}.json")
    return path


def _lint(path: Path, name: str | None = None) -> list:
    """Findings for the template at `path`, linted under `name` (default: its path in the repository)."""
    body = path.read_bytes()
    name = name or path.relative_to(paths.REPO).as_posix()
    return Linter("us-east-1", cache_dir=None).lint(name, body, hashlib.sha256(body).hexdigest())


def test_every_rule_file_has_fixtures_and_an_expectation():
    assert set(RULE_FILES) == set(CAUGHT)
    for kind in ("good", "bad"):
        assert sorted(path.stem for path in (FIXTURES / kind).rglob("*.json")) == RULE_FILES


def test_each_file_holds_one_rule_with_its_documentation():
    rules = _rules_by_file()
    assert sorted(rules) == RULE_FILES
    for rule in rules.values():
        assert re.fullmatch(r"E9\d{3}", rule.id)
        assert rule.shortdesc and rule.description and "tap" in rule.tags
        assert rule.source_url.startswith("https://docs.aws.amazon.com/")
    assert len({rule.id for rule in rules.values()}) == len(rules)
    assert {name: rule.id for name, rule in rules.items()} == {name: CAUGHT[name][0] for name in RULE_FILES}


@pytest.mark.parametrize("name", RULE_FILES)
def test_rule_catches_its_bad_fixture(name):
    rule, count = CAUGHT[name]
    findings = [finding for finding in _lint(_fixture("bad", name)) if finding.rule == rule]
    assert len(findings) == count, findings


@pytest.mark.parametrize("name", RULE_FILES)
def test_rule_passes_its_good_fixture(name):
    assert _lint(_fixture("good", name)) == []


def test_deletion_protection_is_required_in_prod_only():
    bad = _fixture("bad", "deletion_protection")
    assert [finding.rule for finding in _lint(bad, "templates/microservices/prod/database.template.json")] == ["E9014"] * 5
    for name in ("templates/microservices/dev/database.template.json",
                 "templates/microservices/staging/database.template.json",
                 "templates/prod/database/dev.template.json", "database.template.json"):
        assert _lint(bad, name) == [], name


def test_the_command_line_loads_the_same_rules_through_cfnlintrc():
    bad = sorted((FIXTURES / "bad").rglob("*.json"))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable",
         *(str(path.relative_to(paths.REPO)) for path in bad)],
        cwd=paths.REPO, capture_output=True, text=True, check=False,
    )
    seen = {(Path(line.split(":")[0]).stem, line.split(":")[5]) for line in result.stdout.splitlines()}
    assert {(name, rule) for name, (rule, _) in CAUGHT.items()} <= seen, result.stderr
