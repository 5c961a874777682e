"""Functions stack: the licence API and usage tracking functions, and the signing key secret.

The CloudFront signing private keys live in two Secrets Manager secrets, one
per key slot (A: `SigningKeySecret`, B: `SigningKeySecretB`), created empty: the
operator stores each PEM once (`aws secretsmanager put-secret-value`), so it
never passes through a template or a parameter. The licence API reads only the
active slot's secret (`ActiveSigningKey`); its grant allows that one, and each
secret's resource policy denies GetSecretValue to every other principal.

Both functions read API keys (the customer each belongs to) and know the
operators allowed on operator routes (`OperatorPrincipals`).
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
from troposphere import Equals, If, Ref, secretsmanager

from tap.blocks import actions
from tap.blocks.arns import arn
from tap.blocks.functions import PythonFunction, python_function
from tap.blocks.iam import SecretRef, TableRef, grant_read
from tap.blocks.lifecycle import retain, suppress
from tap.cfnvalue import CfnValue
from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire

# The API keys of this region; a key's customerId says whose it is.
API_KEYS_ARN = arn("apigateway", "/apikeys/*", account="")


@dataclass(frozen=True)
class FunctionsInputs:
    licenses_table_name: CfnValue = wire("Name of the licences table.")
    licenses_table_arn: CfnValue = wire("ARN of the licences table.")
    analytics_table_name: CfnValue = wire("Name of the analytics table.")
    analytics_table_arn: CfnValue = wire("ARN of the analytics table.")
    download_domain: CfnValue = wire("Host name of signed download URLs.")
    signed_path_prefix: CfnValue = wire("Path prefix of signed download URLs.")
    public_key_id: CfnValue = wire("CloudFront public key id (Key-Pair-Id of signed URLs).")
    active_signing_key: CfnValue = wire("The signing slot (A or B) the licence API signs with.")
    operator_principals: CfnValue = wire(
        "Who may call operator routes: 'account' and/or IAM role or user ARNs, comma-separated.")


@dataclass(frozen=True)
class FunctionsOutputs:
    license_api_function_arn: CfnValue = wire("ARN of the LicenseApi function.")
    license_api_function_name: CfnValue = wire("Name of the LicenseApi function.")
    usage_tracking_function_arn: CfnValue = wire("ARN of the UsageTracking function.")
    usage_tracking_function_name: CfnValue = wire("Name of the UsageTracking function.")
    signing_key_secret_arn: CfnValue = wire("Secret of signing slot A's private key.")
    signing_key_secret_b_arn: CfnValue = wire("Secret of signing slot B's private key.")


def functions_stack(settings: DistributionSettings, package: FunctionPackager) -> Stack:
    stack = Stack("functions", "tap distribution: licence API and usage tracking functions")
    inputs = declare(stack, FunctionsInputs)
    stack.template.add_condition("SigningSlotBActive", Equals(inputs.active_signing_key, "B"))
    secrets = {slot: add_signing_key_secret(stack, slot) for slot in ("A", "B")}
    active_secret = If("SigningSlotBActive", Ref(secrets["B"]), Ref(secrets["A"]))
    license_api = add_license_api(stack, settings, package, inputs, active_secret)
    for slot, secret in secrets.items():
        protect_signing_key(stack, slot, secret, license_api)
    usage = add_usage_tracking(stack, settings, package, inputs)
    publish(stack, FunctionsOutputs(
        license_api_function_arn=license_api.arn,
        license_api_function_name=license_api.name,
        usage_tracking_function_arn=usage.arn,
        usage_tracking_function_name=usage.name,
        signing_key_secret_arn=Ref(secrets["A"]),
        signing_key_secret_b_arn=Ref(secrets["B"]),
    ))
    return stack


def add_signing_key_secret(stack: Stack, slot: str) -> secretsmanager.Secret:
    """Slot A's secret keeps the logical id of the single secret there was before."""
    secret = secretsmanager.Secret(
        "SigningKeySecret" + ("" if slot == "A" else slot),
        Description=f"PEM private key of signing slot {slot}, whose public half is the "
        f"slot's CloudFront key. Created empty: store the key with put-secret-value.",
    )
    suppress(
        secret,
        CKV_AWS_149="Encrypted with the AWS-managed Secrets Manager key; only the licence API "
        "role may read it (resource policy).",
    )
    return retain(stack.add(secret))


def protect_signing_key(
    stack: Stack, slot: str, secret: secretsmanager.Secret, reader: PythonFunction
) -> None:
    stack.add(
        secretsmanager.ResourcePolicy(
            "SigningKeySecret" + ("" if slot == "A" else slot) + "Policy",
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
    inputs: FunctionsInputs, active_secret: Any,
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
            "LICENSES_TABLE": inputs.licenses_table_name,
            "SIGNING_KEY_SECRET_ARN": active_secret,
            "SIGNING_KEY_ID": inputs.public_key_id,
            "DOWNLOAD_DOMAIN": inputs.download_domain,
            "DOWNLOAD_PATH_PREFIX": inputs.signed_path_prefix,
            "SIGNED_URL_TTL_SECONDS": str(settings.cdn.signed_url_ttl_seconds),
            "OPERATOR_PRINCIPALS": inputs.operator_principals,
        },
    )
    # Exactly what the handler calls (tests/functions/test_template_grants.py checks it):
    # licences by key hash, lists and revocations through the indexes, new and revoked items.
    licenses = TableRef("Licenses", inputs.licenses_table_name, inputs.licenses_table_arn)
    function.role.allow("GetLicenses", actions.DYNAMODB_GET, [licenses.arn])
    function.role.allow("QueryLicenseIndexes", actions.DYNAMODB_QUERY, [licenses.indexes_arn])
    function.role.allow("WriteLicenses", actions.DYNAMODB_PUT_AND_UPDATE, [licenses.arn])
    grant_read(function.role, SecretRef("SigningKey", active_secret))
    function.role.allow("ReadApiKeys", actions.APIGATEWAY_READ, [API_KEYS_ARN])
    return function


def add_usage_tracking(
    stack: Stack, settings: DistributionSettings, package: FunctionPackager, inputs: FunctionsInputs
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
            "ANALYTICS_TABLE": inputs.analytics_table_name,
            "EVENT_TTL_DAYS": str(settings.functions.usage_event_ttl_days),
            "EARLIEST_EVENT_TIME": settings.functions.usage_events_since,
            "OPERATOR_PRINCIPALS": inputs.operator_principals,
        },
    )
    # A usage event is one transaction: put the event (if new) and add to its counter;
    # a summary is one query.
    analytics = TableRef("Analytics", inputs.analytics_table_name, inputs.analytics_table_arn)
    function.role.allow("QueryUsage", actions.DYNAMODB_QUERY, [analytics.arn])
    function.role.allow("WriteUsage", actions.DYNAMODB_PUT_AND_UPDATE, [analytics.arn])
    function.role.allow("ReadApiKeys", actions.APIGATEWAY_READ, [API_KEYS_ARN])
    return function
