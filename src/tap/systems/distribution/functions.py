"""Functions stack: the licence API and usage tracking functions, and the signing key secret.

The CloudFront signing private key lives in a Secrets Manager secret created
empty: the operator stores the PEM once (`aws secretsmanager put-secret-value`),
so it never passes through a template or a parameter. Only the licence API's
role can read it: its grant allows it, and the secret's resource policy
denies GetSecretValue to every other principal of the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs import secretsmanager as secret_actions
from awacs.aws import (
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringNotEquals,
)
from troposphere import Ref, secretsmanager

from tap.blocks import actions
from tap.blocks.functions import PythonFunction, python_function
from tap.blocks.iam import SecretRef, TableRef, grant_read
from tap.blocks.lifecycle import retain, suppress
from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack

PARAMETERS = {
    "LicensesTableName": "Name of the licences table.",
    "LicensesTableArn": "ARN of the licences table.",
    "AnalyticsTableName": "Name of the analytics table.",
    "AnalyticsTableArn": "ARN of the analytics table.",
    "DownloadDomain": "Host name of signed download URLs.",
    "SignedPathPrefix": "Path prefix of signed download URLs.",
    "PublicKeyId": "CloudFront public key id (Key-Pair-Id of signed URLs).",
}


@dataclass(frozen=True)
class Inputs:
    licenses: TableRef
    analytics: TableRef
    download_domain: Any
    signed_path_prefix: Any
    public_key_id: Any


def functions_stack(settings: DistributionSettings, package: FunctionPackager) -> Stack:
    stack = Stack("functions", "tap distribution: licence API and usage tracking functions")
    inputs = add_parameters(stack)
    secret = add_signing_key_secret(stack)
    license_api = add_license_api(stack, settings, package, inputs, secret)
    protect_signing_key(stack, secret, license_api)
    usage = add_usage_tracking(stack, settings, package, inputs)
    for label, function in (("LicenseApi", license_api), ("UsageTracking", usage)):
        stack.output(f"{label}FunctionArn", function.arn, f"ARN of the {label} function.")
        stack.output(f"{label}FunctionName", function.name, f"Name of the {label} function.")
    stack.output("SigningKeySecretArn", Ref(secret), "Secret to store the signing private key in.")
    return stack


def add_parameters(stack: Stack) -> Inputs:
    refs = {name: Ref(stack.parameter(name, Description=text)) for name, text in PARAMETERS.items()}
    return Inputs(
        licenses=TableRef("Licenses", refs["LicensesTableName"], refs["LicensesTableArn"]),
        analytics=TableRef("Analytics", refs["AnalyticsTableName"], refs["AnalyticsTableArn"]),
        download_domain=refs["DownloadDomain"],
        signed_path_prefix=refs["SignedPathPrefix"],
        public_key_id=refs["PublicKeyId"],
    )


def add_signing_key_secret(stack: Stack) -> secretsmanager.Secret:
    secret = secretsmanager.Secret(
        "SigningKeySecret",
        Description="PEM private key that signs CloudFront download URLs. Created empty: "
        "store the key with put-secret-value.",
    )
    suppress(
        secret,
        CKV_AWS_149="Encrypted with the AWS-managed Secrets Manager key; only the licence API "
        "role may read it (resource policy).",
    )
    return retain(stack.add(secret))


def protect_signing_key(stack: Stack, secret: secretsmanager.Secret, reader: PythonFunction) -> None:
    stack.add(
        secretsmanager.ResourcePolicy(
            "SigningKeySecretPolicy",
            SecretId=Ref(secret),
            BlockPublicPolicy=True,
            ResourcePolicy=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="OnlyTheLicenseApiReads",
                        Effect=Deny,
                        Principal=Principal("AWS", ["*"]),
                        Action=[secret_actions.GetSecretValue],
                        Resource=["*"],  # in a secret's policy "*" means this secret
                        Condition=Condition(StringNotEquals("aws:PrincipalArn", reader.role.arn)),
                    )
                ],
            ),
        )
    )


def add_license_api(
    stack: Stack, settings: DistributionSettings, package: FunctionPackager,
    inputs: Inputs, secret: secretsmanager.Secret,
) -> PythonFunction:
    function = python_function(
        stack,
        "LicenseApi",
        package("license_api"),
        description="Licence API: create, list, validate, revoke licences; issue signed URLs",
        log_retention_days=settings.functions.log_retention_days,
        memory_mb=settings.functions.memory_mb,
        timeout_seconds=settings.functions.timeout_seconds,
        environment={
            "LICENSES_TABLE": inputs.licenses.name,
            "SIGNING_KEY_SECRET_ARN": Ref(secret),
            "SIGNING_KEY_ID": inputs.public_key_id,
            "DOWNLOAD_DOMAIN": inputs.download_domain,
            "DOWNLOAD_PATH_PREFIX": inputs.signed_path_prefix,
            "SIGNED_URL_TTL_SECONDS": str(settings.cdn.signed_url_ttl_seconds),
        },
    )
    # Exactly what the handler calls (tests/functions/test_template_grants.py checks it):
    # licences by key hash, lists and revocations through the indexes, new and revoked items.
    licenses = inputs.licenses
    function.role.allow("GetLicenses", actions.DYNAMODB_GET, [licenses.arn])
    function.role.allow("QueryLicenseIndexes", actions.DYNAMODB_QUERY, [licenses.indexes_arn])
    function.role.allow("WriteLicenses", actions.DYNAMODB_PUT_AND_UPDATE, [licenses.arn])
    grant_read(function.role, SecretRef("SigningKey", Ref(secret)))
    return function


def add_usage_tracking(
    stack: Stack, settings: DistributionSettings, package: FunctionPackager, inputs: Inputs
) -> PythonFunction:
    function = python_function(
        stack,
        "UsageTracking",
        package("usage_tracking"),
        description="Usage tracking: record events once, summarise per customer",
        log_retention_days=settings.functions.log_retention_days,
        memory_mb=settings.functions.memory_mb,
        timeout_seconds=settings.functions.timeout_seconds,
        environment={
            "ANALYTICS_TABLE": inputs.analytics.name,
            "EVENT_TTL_DAYS": str(settings.functions.usage_event_ttl_days),
        },
    )
    # A usage event is one transaction: put the event (if new) and add to its counter;
    # a summary is one query.
    analytics = inputs.analytics
    function.role.allow("QueryUsage", actions.DYNAMODB_QUERY, [analytics.arn])
    function.role.allow("WriteUsage", actions.DYNAMODB_PUT_AND_UPDATE, [analytics.arn])
    return function
