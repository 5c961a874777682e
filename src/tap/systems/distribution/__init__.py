"""System A: software distribution platform (docs/distribution.md).

The root reads like a table of contents: one nested stack per concern, in
the order they depend on each other, wired through parameters and outputs.
"""

from __future__ import annotations

from troposphere import Equals, Join, Not, Parameter, Ref

from tap import names
from tap.config import checks
from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import NestedStack, Stack, camel
from tap.systems import SystemBuild
from tap.systems.distribution.api import api_stack
from tap.systems.distribution.cdn import CERTIFICATE_PARAMETER, cdn_stack
from tap.systems.distribution.database import database_stack
from tap.systems.distribution.edge import edge_stack
from tap.systems.distribution.functions import functions_stack
from tap.systems.distribution.monitoring import monitoring_stack
from tap.systems.distribution.storage import storage_stack

# A PEM public key, or empty: an empty slot holds no key (rotation empties the old one).
PUBLIC_KEY_PATTERN = r"^(-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*)?$"
# Each operator entry: "account" (any principal of this account its IAM policy allows),
# or an IAM role or user ARN of this account (the functions compare the account too).
OPERATOR_PATTERN = r"^(account|arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+)$"


def build(settings: DistributionSettings, package: FunctionPackager) -> SystemBuild:
    root = Stack.root(
        "root",
        f"tap software distribution platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    signing = add_signing_key_parameters(root)
    operators = root.parameter(
        "OperatorPrincipals",
        Type="CommaDelimitedList",
        Default="account",
        Description="Who may call the operator routes (create, list, revoke licences; read usage), "
        "signed with SigV4: 'account' (any principal of this account whose IAM policy allows "
        "execute-api:Invoke) and/or IAM role or user ARNs of this account, comma-separated.",
        AllowedPattern=OPERATOR_PATTERN,
        ConstraintDescription="each entry 'account' or arn:aws:iam::<account>:role/<name> or :user/<name>",
    )
    certificate = add_certificate_parameter(root, settings)
    storage = root.nest(storage_stack(settings.storage))
    database = root.nest(database_stack(settings.database))
    edge = root.nest(edge_stack(settings, package), wire(database, "LicensesTableArn"))
    cdn = root.nest(
        cdn_stack(settings.cdn, package),
        {
            **wire(storage, "BinariesBucketName", "BinariesBucketArn", "BinariesBucketDomainName",
                   "LogsBucketArn"),
            **wire(edge, "LicenseCheckVersionArn"),
            **{name: Ref(parameter) for name, parameter in signing.items()},
            **({CERTIFICATE_PARAMETER: Ref(certificate)} if certificate is not None else {}),
        },
    )
    functions = root.nest(
        functions_stack(settings, package),
        {
            **wire(database, "LicensesTableName", "LicensesTableArn", "AnalyticsTableName",
                   "AnalyticsTableArn"),
            **wire(cdn, "DownloadDomain", "SignedPathPrefix", "PublicKeyId"),
            # A nested stack takes no list parameter: the list travels joined.
            "OperatorPrincipals": Join(",", Ref(operators)),
            "ActiveSigningKey": Ref(signing["ActiveSigningKey"]),
        },
    )
    api = root.nest(api_stack(settings.api), wire(functions, "LicenseApiFunctionArn",
                                                  "UsageTrackingFunctionArn"))
    monitoring = root.nest(
        monitoring_stack(settings),
        {
            **wire(edge, "LicenseCheckFunctionName"),
            **wire(functions, "LicenseApiFunctionName", "UsageTrackingFunctionName"),
            **wire(api, "ApiName"),
            **wire(cdn, "DistributionId"),
            **wire(database, "LicensesTableName", "AnalyticsTableName"),
        },
    )
    add_outputs(root, storage, database, cdn, functions, api, monitoring)
    for plan in settings.api.usage_plans:  # customer keys join one of these
        name = f"{camel(plan.name)}UsagePlanId"
        root.output(name, api.output(name), f"Usage plan {plan.name}: customer API keys join it.")
    return SystemBuild(root)


def add_signing_key_parameters(root: Stack) -> dict[str, Parameter]:
    """Two key slots and the active one (docs/distribution.md, "Rotating the signing key").
    A slot's key is added and removed by filling and emptying its parameter, never changed:
    CloudFront refuses to change a public key in place."""
    pem = {"AllowedPattern": PUBLIC_KEY_PATTERN,
           "ConstraintDescription": "a PEM block: -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----, "
                                    "or empty for an empty slot"}
    parameters = {
        "SigningPublicKey": root.parameter(
            "SigningPublicKey", **pem,
            Description="Signing slot A: PEM public key (RSA 2048) that verifies signed download "
            "URLs; its private half goes in the SigningKeySecretArn secret. Empty: no key in slot A."),
        "SigningPublicKeyB": root.parameter(
            "SigningPublicKeyB", **pem, Default="",
            Description="Signing slot B, for rotation: PEM public key; its private half goes in the "
            "SigningKeySecretBArn secret. Empty (default): no key in slot B."),
        "ActiveSigningKey": root.parameter(
            "ActiveSigningKey", AllowedValues=["A", "B"], Default="A",
            Description="The slot whose key signs download URLs; it must hold a key."),
    }
    for slot, name in (("A", "SigningPublicKey"), ("B", "SigningPublicKeyB")):
        root.template.add_rule(f"ActiveSlot{slot}HoldsAKey", {
            "RuleCondition": Equals(Ref(parameters["ActiveSigningKey"]), slot),
            "Assertions": [{
                "Assert": Not(Equals(Ref(parameters[name]), "")),
                "AssertDescription": f"ActiveSigningKey is {slot}, so {name} must hold a PEM public key",
            }],
        })
    return parameters


def add_certificate_parameter(root: Stack, settings: DistributionSettings) -> Parameter | None:
    """The alias's certificate, a root parameter when the config sets one: an ARN names an
    account, so the template takes it and the config's value goes to the manifest."""
    if settings.cdn.certificate_arn is None:
        return None
    return root.configured_parameter(
        CERTIFICATE_PARAMETER, settings.cdn.certificate_arn,
        f"ACM certificate in us-east-1 covering {settings.cdn.alias}, the distribution's alias "
        "(config: cdn.certificate_arn).",
        checks.cloudfront_certificate_arn,
    )


def wire(source: NestedStack, *outputs: str) -> dict:
    """Pass outputs of `source` to a sibling as parameters of the same names."""
    return {name: source.output(name) for name in outputs}


def add_outputs(
    root: Stack, storage: NestedStack, database: NestedStack, cdn: NestedStack,
    functions: NestedStack, api: NestedStack, monitoring: NestedStack,
) -> None:
    surfaced = [
        (cdn, "DistributionDomainName", "CloudFront domain name."),
        (cdn, "DownloadDomain", "Host name customers download from."),
        (cdn, "DistributionId", "CloudFront distribution id."),
        (cdn, "KeyGroupId", "Key group trusted for signed URLs."),
        (cdn, "PublicKeyId", "Key-Pair-Id of signed URLs."),
        (api, "ApiUrl", "Base URL of the licence and usage API."),
        (storage, "BinariesBucketName", "Bucket to upload release binaries to."),
        (storage, "LogsBucketName", "Bucket receiving access logs."),
        (database, "LicensesTableName", "Licences table."),
        (database, "AnalyticsTableName", "Analytics table."),
        (functions, "SigningKeySecretArn", "Secret of signing slot A's private key."),
        (functions, "SigningKeySecretBArn", "Secret of signing slot B's private key."),
        (monitoring, "AlarmTopicArn", "SNS topic every alarm notifies."),
        (monitoring, "DashboardName", "CloudWatch dashboard."),
        (monitoring, names.ROLLBACK_ALARMS_OUTPUT, "Alarms that roll a deploy back when they fire."),
    ]
    for source, name, description in surfaced:
        root.output(name, source.output(name), description)
