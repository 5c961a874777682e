"""Distribution platform, functions stack: licence API, usage tracking, signing key secret."""

from __future__ import annotations

import pytest

from tests.helpers import inline_policy, statement_by_sid

ENVS = ["dev", "staging", "prod"]
# The licence API reads the active signing slot's secret, and only that one.
ACTIVE_SECRET = {"Fn::If": ["SigningSlotBActive", {"Ref": "SigningKeySecretB"}, {"Ref": "SigningKeySecret"}]}
SLOT_SECRETS = ("SigningKeySecret", "SigningKeySecretB")


@pytest.fixture(scope="module", params=ENVS)
def functions(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "functions")


def environment(functions: dict, logical_id: str) -> dict:
    return functions["Resources"][logical_id]["Properties"]["Environment"]["Variables"]


def test_license_api_gets_its_configuration_by_environment(functions):
    assert environment(functions, "LicenseApi") == {
        "DOWNLOAD_DOMAIN": {"Ref": "DownloadDomain"},
        "DOWNLOAD_PATH_PREFIX": {"Ref": "SignedPathPrefix"},
        "LICENSES_TABLE": {"Ref": "LicensesTableName"},
        "SIGNED_URL_TTL_SECONDS": "300",
        "SIGNING_KEY_ID": {"Ref": "PublicKeyId"},
        "SIGNING_KEY_SECRET_ARN": ACTIVE_SECRET,
        "OPERATOR_PRINCIPALS": {"Ref": "OperatorPrincipals"},
    }


def test_usage_tracking_gets_its_table_event_ttl_earliest_time_and_operators(functions):
    assert environment(functions, "UsageTracking") == {
        "ANALYTICS_TABLE": {"Ref": "AnalyticsTableName"}, "EVENT_TTL_DAYS": "90",
        "EARLIEST_EVENT_TIME": "2020-01-01T00:00:00Z",
        "OPERATOR_PRINCIPALS": {"Ref": "OperatorPrincipals"},
    }


def test_both_read_api_keys_of_the_region_and_nothing_more(functions):
    for role in ("LicenseApiRole", "UsageTrackingRole"):
        statement = statement_by_sid(inline_policy(functions["Resources"][role]), "ReadApiKeys")
        assert statement["Action"] == ["apigateway:GET"]
        assert statement["Resource"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/apikeys/*"}]


def test_both_are_traced_json_logged_python_functions(functions):
    for logical_id in ("LicenseApi", "UsageTracking"):
        props = functions["Resources"][logical_id]["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Runtime"] == "python3.13"
        assert props["Code"]["S3Key"].startswith(
            {"LicenseApi": "functions/license_api-", "UsageTracking": "functions/usage_tracking-"}[logical_id]
        )


@pytest.mark.parametrize("logical_id", SLOT_SECRETS)
def test_each_slot_s_secret_is_created_empty_and_retained(functions, logical_id):
    secret = functions["Resources"][logical_id]
    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" not in secret["Properties"]
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.parametrize("logical_id", SLOT_SECRETS)
def test_only_the_license_api_role_can_read_a_signing_key(functions, logical_id):
    policy = functions["Resources"][f"{logical_id}Policy"]["Properties"]
    assert policy["SecretId"] == {"Ref": logical_id}
    (deny,) = policy["ResourcePolicy"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == ["secretsmanager:GetSecretValue"]
    assert deny["Condition"] == {
        "StringNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["LicenseApiRole", "Arn"]}}
    }


def test_the_license_api_reads_only_the_active_slot_s_secret(functions):
    assert functions["Conditions"]["SigningSlotBActive"] == {"Fn::Equals": [{"Ref": "ActiveSigningKey"}, "B"]}
    read = statement_by_sid(inline_policy(functions["Resources"]["LicenseApiRole"]), "ReadSigningKey")
    assert read["Resource"] == [ACTIVE_SECRET]
    usage_policy = inline_policy(functions["Resources"]["UsageTrackingRole"])
    assert all("secretsmanager" not in action
               for statement in usage_policy["Statement"] for action in statement["Action"])


def test_license_api_reads_and_writes_only_the_licenses_table(functions):
    policy = inline_policy(functions["Resources"]["LicenseApiRole"])
    write = statement_by_sid(policy, "WriteLicenses")
    assert write["Action"] == ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert write["Resource"] == [{"Ref": "LicensesTableArn"}]
    assert statement_by_sid(policy, "GetLicenses")["Resource"] == [{"Ref": "LicensesTableArn"}]
    assert statement_by_sid(policy, "QueryLicenseIndexes")["Resource"] == [
        {"Fn::Join": ["", [{"Ref": "LicensesTableArn"}, "/index/*"]]}
    ]
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert not actions & {"dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:DeleteTable"}


def test_usage_tracking_writes_only_the_analytics_table(functions):
    policy = inline_policy(functions["Resources"]["UsageTrackingRole"])
    write = statement_by_sid(policy, "WriteUsage")
    assert write["Action"] == ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert write["Resource"] == [{"Ref": "AnalyticsTableArn"}]
    tables = {str(r) for s in policy["Statement"] for r in s["Resource"]}
    assert not any("Licenses" in table for table in tables)
