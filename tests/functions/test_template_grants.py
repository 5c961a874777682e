"""The IAM policies in the emitted templates grant exactly the AWS calls the functions make.

Each function runs every one of its routes against moto while a botocore hook
records the API calls it makes; each call becomes the IAM action and resource it
needs (a transaction needs its items' actions; a query on an index needs the
index). That set must equal what the function's role allows in the template:
nothing missing (it would fail in AWS), nothing extra (least privilege).
"""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from tap import config
from tap.systems import Tools, builder
from tests.functions.conftest import (
    ANALYTICS_TABLE,
    CONTEXT,
    DOWNLOAD_DOMAIN,
    DOWNLOAD_PATH_PREFIX,
    EARLIEST_EVENT_TIME,
    EDGE_VALUES,
    LICENSES_TABLE,
    OPERATOR_ROLE_ARN,
    SIGNED_URL_TTL_SECONDS,
    SIGNING_KEY_ID,
    call,
    load_function,
    viewer_request,
)

# What each test resource stands for in the templates' policies.
TEMPLATE_RESOURCE = {
    ("table", LICENSES_TABLE): {"Ref": "LicensesTableArn"},
    ("index", LICENSES_TABLE): {"Fn::Join": ["", [{"Ref": "LicensesTableArn"}, "/index/*"]]},
    ("table", ANALYTICS_TABLE): {"Ref": "AnalyticsTableArn"},
    ("index", ANALYTICS_TABLE): {"Fn::Join": ["", [{"Ref": "AnalyticsTableArn"}, "/index/*"]]},
    # The active signing slot's secret, A (SigningKeySecret) unless ActiveSigningKey is B.
    ("secret", "signing"): {"Fn::If": ["SigningSlotBActive", {"Ref": "SigningKeySecretB"},
                                       {"Ref": "SigningKeySecret"}]},
    # API keys, read for the customer each belongs to.
    ("apigateway", "apikeys"): {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/apikeys/*"},
}
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def needed(operation: str, params: dict) -> set[tuple[str, str]]:
    """(IAM action, template resource key) pairs one recorded call needs."""
    if operation == "GetApiKey":
        return {("apigateway:GET", json.dumps(TEMPLATE_RESOURCE[("apigateway", "apikeys")]))}
    if operation == "GetSecretValue":
        return {("secretsmanager:GetSecretValue", json.dumps(TEMPLATE_RESOURCE[("secret", "signing")]))}
    if operation == "TransactWriteItems":
        pairs = set()
        for item in params["TransactItems"]:
            (kind, body), = item.items()
            key = TEMPLATE_RESOURCE[("table", body["TableName"])]
            pairs.add((f"dynamodb:{TRANSACTION_ITEM_ACTIONS[kind]}", json.dumps(key)))
        return pairs
    kind = "index" if params.get("IndexName") else "table"
    return {(f"dynamodb:{operation}", json.dumps(TEMPLATE_RESOURCE[(kind, params["TableName"])]))}


def granted(template: dict, role: str) -> set[tuple[str, str]]:
    (policy,) = template["Resources"][role]["Properties"]["Policies"]
    pairs = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        for action in statement["Action"]:
            if action.startswith(("dynamodb:", "secretsmanager:", "apigateway:")):
                pairs.update((action, json.dumps(resource)) for resource in statement["Resource"])
    return pairs


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    root = builder("distribution")(config.load("distribution", "dev"), Tools()).root
    return {stack.name: json.loads(stack.body) for stack in root.walk()}


@pytest.fixture
def recorder(aws):
    """Records (operation, params) of every AWS call made by clients created from now on."""
    calls: list[tuple[str, dict]] = []

    def record(model, params, **_):
        calls.append((model.name, dict(params)))

    session = boto3._get_default_session()
    session.events.register("before-parameter-build", record)
    yield calls
    session.events.unregister("before-parameter-build", record)


def used(calls) -> set[tuple[str, str]]:
    return set().union(*(needed(operation, params) for operation, params in calls))


def fresh(name, tmp_path, monkeypatch, environment=None, values=None):
    for variable, value in (environment or {}).items():
        monkeypatch.setenv(variable, value)
    return load_function(name, tmp_path / name, values)


def test_license_api_role_grants_what_every_route_uses(
    templates, recorder, dynamodb, signing_secret_arn, tmp_path, monkeypatch
):
    api = fresh("license_api", tmp_path, monkeypatch, {
        "LICENSES_TABLE": LICENSES_TABLE, "SIGNING_KEY_SECRET_ARN": signing_secret_arn,
        "SIGNING_KEY_ID": SIGNING_KEY_ID, "DOWNLOAD_DOMAIN": DOWNLOAD_DOMAIN,
        "DOWNLOAD_PATH_PREFIX": DOWNLOAD_PATH_PREFIX,
        "SIGNED_URL_TTL_SECONDS": str(SIGNED_URL_TTL_SECONDS), "OPERATOR_PRINCIPALS": OPERATOR_ROLE_ARN,
    })
    status, created = call(api, "POST", "/licenses", {"customerId": "grants-c", "productId": "app"})
    assert status == 201
    key = created["licenseKey"]
    assert call(api, "GET", "/customers/{customerId}/licenses", None, {"customerId": "grants-c"})[0] == 200
    assert call(api, "POST", "/licenses/validate", {"licenseKey": key, "customerId": "grants-c"})[0] == 200
    body = {"licenseKey": key, "customerId": "grants-c", "path": "app/1.0/setup.exe"}
    assert call(api, "POST", "/downloads", body)[0] == 200
    license_id = {"licenseId": created["licenseId"]}
    assert call(api, "DELETE", "/licenses/{licenseId}", None, license_id)[0] == 200

    assert used(recorder) == granted(templates["functions"], "LicenseApiRole")


def test_usage_tracking_role_grants_what_every_route_uses(templates, recorder, dynamodb, tmp_path, monkeypatch):
    usage = fresh("usage_tracking", tmp_path, monkeypatch,
                  {"ANALYTICS_TABLE": ANALYTICS_TABLE, "EVENT_TTL_DAYS": "30",
                   "OPERATOR_PRINCIPALS": OPERATOR_ROLE_ARN, "EARLIEST_EVENT_TIME": EARLIEST_EVENT_TIME})
    event = {"eventId": "grants-e1", "customerId": "grants-c", "productId": "app", "eventType": "install"}
    assert call(usage, "POST", "/usage", event)[0] == 202
    assert call(usage, "POST", "/usage", event)[0] == 200  # the duplicate path
    assert call(usage, "GET", "/customers/{customerId}/usage", None, {"customerId": "grants-c"})[0] == 200

    assert used(recorder) == granted(templates["functions"], "UsageTrackingRole")


def test_edge_role_grants_what_the_license_check_uses(templates, recorder, dynamodb, tmp_path, monkeypatch):
    edge = fresh("license_verify", tmp_path, monkeypatch, values=EDGE_VALUES)
    key = "grants-edge-key"
    dynamodb.put_item(TableName=LICENSES_TABLE, Item={
        "keyHash": {"S": hashlib.sha256(key.encode()).hexdigest()}, "licenseId": {"S": "grants-l"},
        "customerId": {"S": "grants-c"}, "productId": {"S": "app"}, "status": {"S": "active"},
        "seats": {"N": "1"}, "createdAt": {"S": "2025-01-01T00:00:00Z"},
    })
    request = viewer_request({"x-license-key": key, "x-customer-id": "grants-c"})
    assert "status" not in edge.handler(request, CONTEXT)  # passed through to the origin

    assert used(recorder) == granted(templates["edge"], "LicenseCheckRole")
