"""System A: software distribution platform (docs/distribution.md).

The root reads like a table of contents: one nested stack per concern, in
the order they depend on each other, wired through parameters and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, Join, Not, Ref

from tap import names
from tap.cfnvalue import CfnValue
from tap.config import checks
from tap.config.distribution import DistributionSettings
from tap.stacktree import Stack
from tap.systems import SystemBuild, Tools
from tap.systems.distribution.api import (
    ApiInputs,
    ApiOutputs,
    api_stack,
    usage_plan_output,
)
from tap.systems.distribution.cdn import CdnInputs, CdnOutputs, cdn_stack
from tap.systems.distribution.database import DatabaseOutputs, database_stack
from tap.systems.distribution.edge import EdgeInputs, EdgeOutputs, edge_stack
from tap.systems.distribution.functions import (
    FunctionsInputs,
    FunctionsOutputs,
    functions_stack,
)
from tap.systems.distribution.monitoring import (
    MonitoringInputs,
    MonitoringOutputs,
    monitoring_stack,
)
from tap.systems.distribution.storage import StorageOutputs, storage_stack
from tap.wiring import declare, parameter_name, publish, wire

# A PEM public key, or empty: an empty slot holds no key (rotation empties the old one).
PUBLIC_KEY_PATTERN = r"^(-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*)?$"
PEM_ALLOWED = ("a PEM block: -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----, "
               "or empty for an empty slot")
# Each operator entry: "account" (any principal of this account its IAM policy allows),
# or an IAM role or user ARN of this account (the functions compare the account too).
OPERATOR_PATTERN = r"^(account|arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+)$"
CERTIFICATE_PARAMETER = "CdnCertificateArn"


@dataclass(frozen=True)
class RootInputs:
    """The root's parameters (besides the artefact bucket and the configured ones). The two
    key slots and the active one: docs/distribution.md, "Rotating the signing key". A slot's
    key is added and removed by filling and emptying its parameter, never changed:
    CloudFront refuses to change a public key in place."""

    signing_public_key: CfnValue = wire(
        "Signing slot A: PEM public key (RSA 2048) that verifies signed download "
        "URLs; its private half goes in the SigningKeySecretArn secret. Empty: no key in slot A.",
        AllowedPattern=PUBLIC_KEY_PATTERN, ConstraintDescription=PEM_ALLOWED)
    signing_public_key_b: CfnValue = wire(
        "Signing slot B, for rotation: PEM public key; its private half goes in the "
        "SigningKeySecretBArn secret. Empty (default): no key in slot B.",
        AllowedPattern=PUBLIC_KEY_PATTERN, ConstraintDescription=PEM_ALLOWED, Default="")
    active_signing_key: CfnValue = wire(
        "The slot whose key signs download URLs; it must hold a key.",
        AllowedValues=["A", "B"], Default="A")
    operator_principals: CfnValue = wire(
        "Who may call the operator routes (create, list, revoke licences; read usage), "
        "signed with SigV4: 'account' (any principal of this account whose IAM policy allows "
        "execute-api:Invoke) and/or IAM role or user ARNs of this account, comma-separated.",
        "CommaDelimitedList", Default="account", AllowedPattern=OPERATOR_PATTERN,
        ConstraintDescription="each entry 'account' or arn:aws:iam::<account>:role/<name> or :user/<name>")


@dataclass(frozen=True)
class DistributionOutputs:
    """What the root surfaces, for people and for the deploy tool."""

    distribution_domain_name: CfnValue = wire("CloudFront domain name.")
    download_domain: CfnValue = wire("Host name customers download from.")
    distribution_id: CfnValue = wire("CloudFront distribution id.")
    key_group_id: CfnValue = wire("Key group trusted for signed URLs.")
    public_key_id: CfnValue = wire("Key-Pair-Id of signed URLs.")
    api_url: CfnValue = wire("Base URL of the licence and usage API.")
    binaries_bucket_name: CfnValue = wire("Bucket to upload release binaries to.")
    logs_bucket_name: CfnValue = wire("Bucket receiving access logs.")
    licenses_table_name: CfnValue = wire("Licences table.")
    analytics_table_name: CfnValue = wire("Analytics table.")
    signing_key_secret_arn: CfnValue = wire("Secret of signing slot A's private key.")
    signing_key_secret_b_arn: CfnValue = wire("Secret of signing slot B's private key.")
    alarm_topic_arn: CfnValue = wire("SNS topic every alarm notifies.")
    dashboard_name: CfnValue = wire("CloudWatch dashboard.")


def build(settings: DistributionSettings, tools: Tools) -> SystemBuild:
    package = tools.package
    root = Stack.root(
        "root",
        f"tap software distribution platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    given = declare(root, RootInputs)
    add_active_slot_rules(root, given)
    certificate = add_certificate_parameter(root, settings)
    storage = root.nest(storage_stack(settings.storage)).outputs(StorageOutputs)
    tables = root.nest(database_stack(settings.database)).outputs(DatabaseOutputs)
    edge = root.nest(
        edge_stack(settings, package), EdgeInputs(licenses_table_arn=tables.licenses_table_arn),
    ).outputs(EdgeOutputs)
    cdn = root.nest(cdn_stack(settings.cdn, package), CdnInputs(
        binaries_bucket_name=storage.binaries_bucket_name,
        binaries_bucket_arn=storage.binaries_bucket_arn,
        binaries_bucket_domain_name=storage.binaries_bucket_domain_name,
        logs_bucket_arn=storage.logs_bucket_arn,
        license_check_version_arn=edge.license_check_version_arn,
        signing_public_key=given.signing_public_key,
        signing_public_key_b=given.signing_public_key_b,
        active_signing_key=given.active_signing_key,
        cdn_certificate_arn=certificate,
    )).outputs(CdnOutputs)
    functions = root.nest(functions_stack(settings, package), FunctionsInputs(
        licenses_table_name=tables.licenses_table_name,
        licenses_table_arn=tables.licenses_table_arn,
        analytics_table_name=tables.analytics_table_name,
        analytics_table_arn=tables.analytics_table_arn,
        download_domain=cdn.download_domain,
        signed_path_prefix=cdn.signed_path_prefix,
        public_key_id=cdn.public_key_id,
        active_signing_key=given.active_signing_key,
        # A nested stack takes no list parameter: the list travels joined.
        operator_principals=Join(",", given.operator_principals),
    )).outputs(FunctionsOutputs)
    api_stack_ = root.nest(api_stack(settings.api), ApiInputs(
        license_api_function_arn=functions.license_api_function_arn,
        usage_tracking_function_arn=functions.usage_tracking_function_arn,
    ))
    api = api_stack_.outputs(ApiOutputs)
    monitoring_stack_ = root.nest(monitoring_stack(settings), MonitoringInputs(
        license_check_function_name=edge.license_check_function_name,
        license_api_function_name=functions.license_api_function_name,
        usage_tracking_function_name=functions.usage_tracking_function_name,
        api_name=api.api_name,
        distribution_id=cdn.distribution_id,
        licenses_table_name=tables.licenses_table_name,
        analytics_table_name=tables.analytics_table_name,
    ))
    monitoring = monitoring_stack_.outputs(MonitoringOutputs)
    publish(root, DistributionOutputs(
        distribution_domain_name=cdn.distribution_domain_name,
        download_domain=cdn.download_domain,
        distribution_id=cdn.distribution_id,
        key_group_id=cdn.key_group_id,
        public_key_id=cdn.public_key_id,
        api_url=api.api_url,
        binaries_bucket_name=storage.binaries_bucket_name,
        logs_bucket_name=storage.logs_bucket_name,
        licenses_table_name=tables.licenses_table_name,
        analytics_table_name=tables.analytics_table_name,
        signing_key_secret_arn=functions.signing_key_secret_arn,
        signing_key_secret_b_arn=functions.signing_key_secret_b_arn,
        alarm_topic_arn=monitoring.alarm_topic_arn,
        dashboard_name=monitoring.dashboard_name,
    ))
    root.output(names.ROLLBACK_ALARMS_OUTPUT, monitoring_stack_.output(names.ROLLBACK_ALARMS_OUTPUT),
                "Alarms that roll a deploy back when they fire.")
    for plan in settings.api.usage_plans:  # customer keys join one of these
        name = usage_plan_output(plan)
        root.output(name, api_stack_.output(name), f"Usage plan {plan.name}: customer API keys join it.")
    return SystemBuild(root)


def add_active_slot_rules(root: Stack, given: RootInputs) -> None:
    """The active slot must hold a key."""
    slots = {"A": "signing_public_key", "B": "signing_public_key_b"}
    for slot, field in slots.items():
        root.template.add_rule(f"ActiveSlot{slot}HoldsAKey", {
            "RuleCondition": Equals(given.active_signing_key, slot),
            "Assertions": [{
                "Assert": Not(Equals(getattr(given, field), "")),
                "AssertDescription": f"ActiveSigningKey is {slot}, so {parameter_name(field)} must "
                "hold a PEM public key",
            }],
        })


def add_certificate_parameter(root: Stack, settings: DistributionSettings) -> Ref | None:
    """The alias's certificate, a root parameter when the config sets one: an ARN names an
    account, so the template takes it and the config's value goes to the manifest."""
    if settings.cdn.certificate_arn is None:
        return None
    return Ref(root.configured_parameter(
        CERTIFICATE_PARAMETER, settings.cdn.certificate_arn,
        f"ACM certificate in us-east-1 covering {settings.cdn.alias}, the distribution's alias "
        "(config: cdn.certificate_arn).",
        checks.cloudfront_certificate_arn,
    ))
