"""System A: software distribution platform (SYSTEMS.md §A).

The root reads like a table of contents: one nested stack per concern, in
the order they depend on each other, wired through parameters and outputs.
"""

from __future__ import annotations

from troposphere import Parameter, Ref

from tap import names
from tap.config import checks
from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import NestedStack, Stack
from tap.systems import SystemBuild
from tap.systems.distribution.api import api_stack
from tap.systems.distribution.cdn import CERTIFICATE_PARAMETER, cdn_stack
from tap.systems.distribution.database import database_stack
from tap.systems.distribution.edge import edge_stack
from tap.systems.distribution.functions import functions_stack
from tap.systems.distribution.monitoring import monitoring_stack
from tap.systems.distribution.storage import storage_stack

PUBLIC_KEY_PATTERN = r"^-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$"


def build(settings: DistributionSettings, package: FunctionPackager) -> SystemBuild:
    root = Stack.root(
        "root",
        f"tap software distribution platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    public_key = root.parameter(
        "SigningPublicKey",
        Description="PEM public key (RSA 2048) that verifies signed download URLs; store its "
        "private half in the SigningKeySecretArn secret.",
        AllowedPattern=PUBLIC_KEY_PATTERN,
        ConstraintDescription="a PEM block: -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----",
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
            "SigningPublicKey": Ref(public_key),
            **({CERTIFICATE_PARAMETER: Ref(certificate)} if certificate is not None else {}),
        },
    )
    functions = root.nest(
        functions_stack(settings, package),
        {
            **wire(database, "LicensesTableName", "LicensesTableArn", "AnalyticsTableName",
                   "AnalyticsTableArn"),
            **wire(cdn, "DownloadDomain", "SignedPathPrefix", "PublicKeyId"),
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
    return SystemBuild(root)


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
        (api, "OperatorApiKeyId", "Id of the operator's API key."),
        (storage, "BinariesBucketName", "Bucket to upload release binaries to."),
        (storage, "LogsBucketName", "Bucket receiving access logs."),
        (database, "LicensesTableName", "Licences table."),
        (database, "AnalyticsTableName", "Analytics table."),
        (functions, "SigningKeySecretArn", "Secret to store the signing private key in."),
        (monitoring, "AlarmTopicArn", "SNS topic every alarm notifies."),
        (monitoring, "DashboardName", "CloudWatch dashboard."),
        (monitoring, names.ROLLBACK_ALARMS_OUTPUT, "Alarms that roll a deploy back when they fire."),
    ]
    for source, name, description in surfaced:
        root.output(name, source.output(name), description)
