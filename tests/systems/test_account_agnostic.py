"""Account-agnostic templates: a setting that names a resource of one account (a
certificate, web ACL, connection or secret ARN) becomes a root parameter, never a literal,
so the same template deploys in any account (console, StackSets). The config's value is
recorded in the manifest, for the deploy tool to pass."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import typing
from typing import Any

import pytest

from tap.config import checks
from tap.config.distribution import DistributionSettings
from tap.config.microservices import MicroservicesSettings
from tap.config.schema import parse
from tap.emit import Emission, emit_tree
from tap.errors import UserError
from tap.paths import CONFIG_DIR, TEMPLATES_DIR
from tap.systems import Tools, distribution
from tests.systems.microservices import Built, config, service

# Twelve digits standing alone: a sha256 in a key or URL holds digit runs too, but
# always next to a hex letter or another digit.
ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
ACCOUNT = "111122223333"

ALB_CERTIFICATE = f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
CDN_CERTIFICATE = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/8765abcd-4321-4321-4321-ba0987654321"
WEB_ACL = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/edge/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
CONNECTION = f"arn:aws:codeconnections:eu-west-1:{ACCOUNT}:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
STRIPE = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:shared/stripe-AbCdEf"
SMTP = f"arn:aws-us-gov:secretsmanager:us-gov-west-1:{ACCOUNT}:secret:mail/smtp-GhIjKl"

# Every setting that names a resource of one account: the root parameter it becomes,
# and the value the audit builds set it to.
MICROSERVICES_AUDIT = {
    "load_balancer.certificate_arn": ("LoadBalancerCertificateArn", ALB_CERTIFICATE),
    "cdn.certificate_arn": ("CdnCertificateArn", CDN_CERTIFICATE),
    "cdn.web_acl_arn": ("CdnWebAclArn", WEB_ACL),
    "pipeline.connection_arn": ("PipelineConnectionArn", CONNECTION),
}
DISTRIBUTION_AUDIT = {"cdn.certificate_arn": ("CdnCertificateArn", CDN_CERTIFICATE)}
SECRETS = {"OrdersStripeKeySecretArn": STRIPE, "NotificationsSmtpPasswordSecretArn": SMTP}


def account_settings(cls: type, prefix: str = "") -> set[str]:
    """Dotted keys of the settings whose rule admits an account id (an ARN), found by
    walking the settings classes: a new one fails the audit until the tests set it."""
    found = set()
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        check = field.metadata.get("check")
        if isinstance(check, checks.Pattern) and r"\d{12}" in check.regex:
            found.add(prefix + field.name)
        for kind in (hints[field.name], *typing.get_args(hints[field.name])):
            if dataclasses.is_dataclass(kind):
                found |= account_settings(kind, f"{prefix}{field.name}.")
    return found


def with_account_settings(audit: dict[str, tuple[str, str]], table: dict) -> dict:
    for key, (_, value) in audit.items():
        section, name = key.split(".")
        table.setdefault(section, {})[name] = value
    return table


@pytest.fixture(scope="module")
def platform() -> Built:
    """The microservices platform with every account-specific setting set, secrets
    given as ARNs (one in another partition) included."""
    table = config(
        [service("orders", secrets={"STRIPE_KEY": STRIPE, "DB": "database", "API_KEY": "api-key"}),
         service("notifications", secrets={"SMTP_PASSWORD": SMTP}),
         service("catalog")],
        load_balancer={"domain_name": "origin.example.com"},
        cdn={"aliases": ["shop.example.com"]},
        pipeline={"create_oidc_provider": False},
    )
    return Built(with_account_settings(MICROSERVICES_AUDIT, table))


@pytest.fixture(scope="module")
def downloads() -> Emission:
    """The distribution platform (prod's config) with every account-specific setting set."""
    table = tomllib.loads((CONFIG_DIR / "distribution" / "prod.toml").read_text())
    table = with_account_settings(DISTRIBUTION_AUDIT, table)
    system = distribution.build(parse(DistributionSettings, table, env="audit"), Tools())
    return emit_tree(system.root, "distribution/audit", {}, system.files)


def account_ids(files: dict[str, bytes]) -> dict[str, list[str]]:
    """Account ids in every file but the manifest, which records the config's values."""
    found = {name: ACCOUNT_ID.findall(data.decode()) for name, data in files.items() if name != "manifest.json"}
    return {name: ids for name, ids in found.items() if ids}


def manifest(emission: Emission) -> dict:
    return json.loads(emission.files["manifest.json"])


def traced_to_root(emission: Emission, stack_name: str, expression: Any) -> tuple[str, Any]:
    """Follow a parameter `Ref` of a nested stack up through what each parent passes,
    to the stack and expression it comes from."""
    stacks = {info.stack.name: info.stack for info in emission.templates}
    stack = stacks[stack_name]
    while stack.parent is not None and isinstance(expression, dict) and list(expression) == ["Ref"]:
        parent = stack.parent
        (nested,) = [n for n in parent.children if n.stack is stack]
        passed = json.loads(parent.body)["Resources"][nested.resource.title]["Properties"]["Parameters"]
        stack, expression = parent, passed[expression["Ref"]]
    return stack.name, expression


# --- no template holds an account id ------------------------------------------------------------


def test_the_audit_covers_every_setting_that_names_an_account():
    assert account_settings(MicroservicesSettings) == set(MICROSERVICES_AUDIT)
    assert account_settings(DistributionSettings) == set(DISTRIBUTION_AUDIT)


def test_the_account_id_pattern_finds_an_arns_account_but_not_a_hash():
    assert ACCOUNT_ID.findall(f'"{CDN_CERTIFICATE}"') == [ACCOUNT]
    assert ACCOUNT_ID.findall(f"tap-assets-{ACCOUNT}-us-east-1 {ACCOUNT}.dkr.ecr") == [ACCOUNT, ACCOUNT]
    assert ACCOUNT_ID.findall("templates/cdn-442fd3f83796c4e221a3dafad7f186621364051622d948d5e.json") == []


def test_no_committed_file_under_templates_holds_an_account_id():
    files = [path for path in sorted(TEMPLATES_DIR.rglob("*")) if path.is_file()]
    assert any(path.name == "bootstrap.template.json" for path in files)
    offenders = {str(path.relative_to(TEMPLATES_DIR)): ACCOUNT_ID.findall(path.read_text())
                 for path in files if path.name != "manifest.json"}
    assert {name: ids for name, ids in offenders.items() if ids} == {}


def test_no_template_of_a_shipped_config_or_the_bootstrap_holds_an_account_id(built):
    assert "bootstrap" in built.targets
    for folder, target in built.targets.items():
        assert account_ids(target.emission.files) == {}, folder


def test_no_template_holds_an_account_id_when_every_account_setting_is_set(platform, downloads):
    assert account_ids(platform.files) == {}
    assert account_ids(downloads.files) == {}


def test_the_manifest_records_every_configured_value(platform, downloads):
    assert platform.configured == {**dict(MICROSERVICES_AUDIT.values()), **SECRETS}
    assert manifest(downloads)["parameters"] == dict(DISTRIBUTION_AUDIT.values())


# --- each is a root parameter, passed down to where the literal was ------------------------------


ROOT_PARAMETERS = [*(name for name, _ in MICROSERVICES_AUDIT.values()), *SECRETS]


@pytest.mark.parametrize("name", ROOT_PARAMETERS)
def test_each_is_a_described_root_parameter_without_a_default_that_takes_its_value(platform, name):
    declared = platform["root"]["Parameters"][name]
    assert "Default" not in declared
    assert declared["Description"] and declared["ConstraintDescription"]
    assert re.fullmatch(declared["AllowedPattern"], platform.configured[name])
    # Any partition: GovCloud and China accounts deploy the same template.
    for partition in ("aws-cn", "aws-us-gov"):
        elsewhere = re.sub(r"^arn:aws(-[a-z-]+)?:", f"arn:{partition}:", platform.configured[name])
        assert re.fullmatch(declared["AllowedPattern"], elsewhere), partition


def test_a_cloudfront_certificate_parameter_refuses_another_region(platform):
    pattern = platform["root"]["Parameters"]["CdnCertificateArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, CDN_CERTIFICATE)
    assert not re.fullmatch(pattern, CDN_CERTIFICATE.replace("us-east-1", "eu-west-1"))
    assert "us-east-1" in platform["root"]["Parameters"]["CdnCertificateArn"]["ConstraintDescription"]


def uses(platform: Built) -> dict[str, tuple[str, Any]]:
    """Where each value is used: the stack, and the expression in the property that used
    to hold the literal."""
    distribution_config = platform["cdn"]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    orders, notifications = platform.stack_of("orders"), platform.stack_of("notifications")
    pipeline = platform[platform.pipelines_of("orders")]["Resources"]["OrdersPipeline"]["Properties"]
    source = next(stage for stage in pipeline["Stages"] if stage["Name"] == "Source")["Actions"][0]

    def secret(stack: str, prefix: str, variable: str) -> Any:
        (container,) = platform[stack]["Resources"][f"{prefix}TaskDefinition"]["Properties"][
            "ContainerDefinitions"]
        return next(item["ValueFrom"] for item in container["Secrets"] if item["Name"] == variable)

    return {
        "LoadBalancerCertificateArn": ("cluster", platform["cluster"]["Resources"]["LoadBalancer0HttpsListener"][
            "Properties"]["Certificates"][0]["CertificateArn"]),
        "CdnCertificateArn": ("cdn", distribution_config["ViewerCertificate"]["AcmCertificateArn"]),
        "CdnWebAclArn": ("cdn", distribution_config["WebACLId"]),
        "PipelineConnectionArn": (platform.pipelines_of("orders"), source["Configuration"]["ConnectionArn"]),
        "OrdersStripeKeySecretArn": (orders, secret(orders, "Orders", "STRIPE_KEY")),
        "NotificationsSmtpPasswordSecretArn": (
            notifications, secret(notifications, "Notifications", "SMTP_PASSWORD")),
    }


@pytest.mark.parametrize("name", ROOT_PARAMETERS)
def test_each_reaches_the_property_that_held_the_literal_from_the_root_parameter(platform, name):
    stack, expression = uses(platform)[name]
    assert isinstance(expression, dict) and list(expression) == ["Ref"], expression
    assert traced_to_root(platform.emission, stack, expression) == ("root", {"Ref": name})


def test_a_secret_given_as_an_arn_is_what_the_execution_role_may_read(platform):
    role = platform[platform.stack_of("orders")]["Resources"]["OrdersExecutionRole"]["Properties"]
    (policy,) = role["Policies"]
    read = next(s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ReadContainerSecrets")
    assert {"Ref": "OrdersStripeKeySecretArn"} in read["Resource"]


def test_the_configured_connection_is_the_root_output_too(platform):
    assert platform["root"]["Outputs"]["GitHubConnectionArn"]["Value"] == {"Ref": "PipelineConnectionArn"}


def test_the_distribution_certificate_reaches_the_viewer_certificate_from_the_root(downloads):
    root = json.loads(downloads.files["root.template.json"])
    declared = root["Parameters"]["CdnCertificateArn"]
    assert "Default" not in declared and re.fullmatch(declared["AllowedPattern"], CDN_CERTIFICATE)
    cdn = json.loads(downloads.files["cdn.template.json"])
    viewer = cdn["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["ViewerCertificate"]
    assert traced_to_root(downloads, "cdn", viewer["AcmCertificateArn"]) == ("root", {"Ref": "CdnCertificateArn"})


@pytest.mark.parametrize("folder, expected", [
    ("distribution/prod", {"CdnCertificateArn"}),  # prod's config sets alias and certificate_arn
    ("distribution/dev", set()),
    ("microservices/prod", {"LoadBalancerCertificateArn"}),  # prod's load balancers listen on HTTPS
    ("microservices/dev", set()),
])
def test_a_parameter_exists_only_where_the_config_sets_its_setting(built, folder, expected):
    emission = built.targets[folder].emission
    assert set(emission.root.configured) == expected
    root = json.loads(emission.files["root.template.json"])
    assert expected <= set(root["Parameters"])
    assert not ({"CdnCertificateArn", "CdnWebAclArn", "LoadBalancerCertificateArn",
                 "PipelineConnectionArn"} - expected) & set(root["Parameters"])


def test_two_secret_variables_that_would_share_a_parameter_are_refused():
    with pytest.raises(UserError, match="secrets.API_KEY and secrets.api_key would both be passed as "
                                        "parameter OrdersApiKeySecretArn"):
        Built(config([service("orders", secrets={"API_KEY": STRIPE, "api_key": STRIPE})]))
