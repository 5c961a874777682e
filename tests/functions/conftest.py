"""Fixtures for the function tests: moto for the package's tests, the tables and the
signing secret as the templates define them, and each function loaded from its real zip.

The handlers are loaded from the bytes `tap.package` builds (rendered edge config,
shared modules, vendored `rsa`), so the tests run what Lambda would run.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import sys
import uuid
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
from hypothesis import HealthCheck, settings
from moto import mock_aws

from tap.package import package_function

REGION = "us-east-1"
LICENSES_TABLE = "licenses"
ANALYTICS_TABLE = "analytics"
SIGNING_KEY_ID = "K2JCJMDEHXQW5F"
DOWNLOAD_DOMAIN = "downloads.example.com"
DOWNLOAD_PATH_PREFIX = "/signed"
SIGNED_URL_TTL_SECONDS = 300
EVENT_TTL_DAYS = 30
EARLIEST_EVENT_TIME = "2020-01-01T00:00:00Z"
ACCOUNT = "123456789012"
# The operator the tests' functions name, and the ARN its signed requests arrive with.
OPERATOR_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/operations/tap-operator"
OPERATOR_CALLER_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/tap-operator/deploy-session"
OPERATOR_ROUTES = frozenset({
    ("POST", "/licenses"), ("GET", "/customers/{customerId}/licenses"),
    ("DELETE", "/licenses/{licenseId}"), ("GET", "/customers/{customerId}/usage"),
})
EDGE_VALUES = {
    "table_name": LICENSES_TABLE,
    "table_region": REGION,
    "cache_ttl_seconds": 60,
    "lookup_timeout_seconds": 1.5,
}
CONTEXT = SimpleNamespace(aws_request_id="3f8a7c1e-test", function_name="test")

# Property tests: a few hundred examples by default; TAP_HYPOTHESIS_EXAMPLES=10000 for a long run.
EXAMPLES = int(os.environ.get("TAP_HYPOTHESIS_EXAMPLES", "200"))
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# For properties whose every example is a sequence of a dozen transactions against moto
# (which copies the table for each): a quarter of the examples, at least 50.
SEQUENCE_PROPERTY = settings(PROPERTY, max_examples=max(50, EXAMPLES // 4))


class FakeClock:
    """A monotonic clock that moves only when a test moves it."""

    def __init__(self, start: float = 1_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


# ---- loading functions from their zips ------------------------------------------------

_loaded_dirs: dict[str, str] = {}


def load_function(name: str, directory: Path, values: dict | None = None) -> ModuleType:
    """Package `functions/<name>`, unpack it into `directory` and import its handler.

    Every handler module is `handler.py`, so it is imported under `<name>_handler`;
    the zip's other top-level modules are dropped from `sys.modules` first, so a
    second load sees its own rendered configuration, not a stale one.
    """
    package = package_function(name, values)
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        archive.extractall(directory)
    for entry in package.files:
        if "/" not in entry and entry.endswith(".py"):
            sys.modules.pop(entry[: -len(".py")], None)
    if name in _loaded_dirs:
        sys.path.remove(_loaded_dirs[name])
    _loaded_dirs[name] = str(directory)
    sys.path.insert(0, str(directory))
    spec = importlib.util.spec_from_file_location(f"{name}_handler", directory / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- AWS -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def aws():
    """moto for this package's tests only, with fake credentials."""
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in fake.items():
            patch.setenv(name, value)
        with mock_aws():
            yield


def table_definition(logical_id: str) -> dict:
    """A table exactly as the emitted database stack declares it (keys, indexes, TTL)."""
    from tap.config.distribution import DatabaseSettings
    from tap.systems.distribution.database import database_stack

    stack = database_stack(DatabaseSettings(licenses_table_name=LICENSES_TABLE))
    return json.loads(stack.body)["Resources"][logical_id]["Properties"]


def create_table(client, name: str, logical_id: str) -> None:
    declared = table_definition(logical_id)
    client.create_table(
        TableName=name,
        **{key: declared[key] for key in
           ("BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")
           if key in declared},
    )
    if "TimeToLiveSpecification" in declared:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification=declared["TimeToLiveSpecification"]
        )


def create_licenses_table(client) -> None:
    create_table(client, LICENSES_TABLE, "LicensesTable")


def create_analytics_table(client) -> None:
    create_table(client, ANALYTICS_TABLE, "AnalyticsTable")


def empty_analytics_table(client) -> None:
    """Start the analytics table again. moto copies a whole table on every transaction (to
    roll back), so a test that writes thousands of events keeps the table small this way."""
    client.delete_table(TableName=ANALYTICS_TABLE)
    create_analytics_table(client)


@pytest.fixture(scope="package")
def dynamodb(aws):
    client = boto3.client("dynamodb", region_name=REGION)
    create_licenses_table(client)
    create_analytics_table(client)
    return client


@pytest.fixture(scope="session")
def signing_key() -> rsa_keys.RSAPrivateKey:
    return rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa_keys.RSAPrivateKey, form: serialization.PrivateFormat) -> str:
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode()


@pytest.fixture(scope="package")
def signing_secret_arn(aws, signing_key) -> str:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    created = secrets.create_secret(
        Name="tap/cloudfront-signing-key",
        SecretString=pem(signing_key, serialization.PrivateFormat.PKCS8),
    )
    return created["ARN"]


# ---- the three functions -----------------------------------------------------------------


@pytest.fixture(scope="package")
def license_api(dynamodb, signing_secret_arn, tmp_path_factory) -> ModuleType:
    environment = {
        "LICENSES_TABLE": LICENSES_TABLE,
        "SIGNING_KEY_SECRET_ARN": signing_secret_arn,
        "SIGNING_KEY_ID": SIGNING_KEY_ID,
        "DOWNLOAD_DOMAIN": DOWNLOAD_DOMAIN,
        "DOWNLOAD_PATH_PREFIX": DOWNLOAD_PATH_PREFIX,
        "SIGNED_URL_TTL_SECONDS": str(SIGNED_URL_TTL_SECONDS),
        "OPERATOR_PRINCIPALS": OPERATOR_ROLE_ARN,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        return load_function("license_api", tmp_path_factory.mktemp("license_api"))


@pytest.fixture(scope="package")
def usage_tracking(dynamodb, tmp_path_factory) -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANALYTICS_TABLE", ANALYTICS_TABLE)
        patch.setenv("EVENT_TTL_DAYS", str(EVENT_TTL_DAYS))
        patch.setenv("OPERATOR_PRINCIPALS", OPERATOR_ROLE_ARN)
        patch.setenv("EARLIEST_EVENT_TIME", EARLIEST_EVENT_TIME)
        return load_function("usage_tracking", tmp_path_factory.mktemp("usage_tracking"))


@pytest.fixture(scope="package")
def license_verify(dynamodb, tmp_path_factory) -> ModuleType:
    return load_function("license_verify", tmp_path_factory.mktemp("license_verify"), EDGE_VALUES)


@pytest.fixture
def edge(license_verify) -> ModuleType:
    """The edge function with an empty cache, as a fresh container has."""
    license_verify._cache.clear()
    yield license_verify
    license_verify._cache.clear()


# ---- callers ----------------------------------------------------------------------------------

_customer_keys: dict[str, str] = {}


def customer_key(customer_id: str) -> str:
    """The id of an API key bound to `customer_id` (created in moto once). A session of its
    own, so the grant tests' recorder does not count the test's own calls."""
    if customer_id not in _customer_keys:
        apigateway = boto3.session.Session(region_name=REGION).client("apigateway")
        created = apigateway.create_api_key(name=f"key-{customer_id}"[:128], customerId=customer_id,
                                            enabled=True)
        _customer_keys[customer_id] = created["id"]
    return _customer_keys[customer_id]


def operator_identity(caller_arn: str = OPERATOR_CALLER_ARN) -> dict:
    """requestContext.identity of a SigV4-signed request (IAM authorization)."""
    return {"userArn": caller_arn, "accountId": caller_arn.split(":")[4], "sourceIp": "203.0.113.9"}


def customer_identity(customer_id: str) -> dict:
    """requestContext.identity of a request with a customer's API key."""
    return {"apiKeyId": customer_key(customer_id), "apiKey": "[value]", "sourceIp": "203.0.113.9"}


def default_identity(method: str, resource: str, body: object) -> dict:
    """The caller a route expects: the operator on operator routes, else the customer the
    body names (its own key), so each test states only the caller it is about."""
    if (method, resource) in OPERATOR_ROUTES:
        return operator_identity()
    if isinstance(body, str):  # a raw body: the customer it names, if it parses
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            body = None
    named = body.get("customerId") if isinstance(body, dict) else None
    return customer_identity(named if isinstance(named, str) and named else "no-customer-in-body")


# ---- events and answers ---------------------------------------------------------------------


def api_event(method: str, resource: str, body: object = None, path_parameters: dict | None = None,
              *, raw_body: str | None = None, base64_encoded: bool = False,
              identity: dict | None = None) -> dict:
    """An API Gateway REST proxy event (payload v1) as the integration delivers it;
    `identity` is requestContext.identity (by default the caller the route expects)."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if base64_encoded and text is not None:
        text = base64.b64encode(text.encode()).decode()
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "x-api-key": "test-api-key"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "requestId": "c6af9ac6-test", "stage": "prod", "httpMethod": method, "accountId": ACCOUNT,
            "identity": identity if identity is not None else default_identity(
                method, resource, body if raw_body is None else raw_body),
        },
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


def call(function: ModuleType, method: str, resource: str, body: object = None,
         path_parameters: dict | None = None, **event_options) -> tuple[int, dict]:
    """Invoke a handler with a proxy event; the status and the parsed JSON body."""
    answer = function.handler(api_event(method, resource, body, path_parameters, **event_options), CONTEXT)
    assert answer["headers"] == {"Content-Type": "application/json"}
    return answer["statusCode"], json.loads(answer["body"])


def viewer_request(headers: dict[str, str], uri: str = "/app/2.1.0/app-2.1.0.tar.gz") -> dict:
    """A CloudFront viewer-request event for Lambda@Edge."""
    return {
        "Records": [{
            "cf": {
                "config": {
                    "distributionDomainName": "d111111abcdef8.cloudfront.net",
                    "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "viewer-request",
                    "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                },
                "request": {
                    "clientIp": "203.0.113.178",
                    "headers": {
                        "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
                        "user-agent": [{"key": "User-Agent", "value": "curl/8.5.0"}],
                        **{name.lower(): [{"key": name, "value": value}] for name, value in headers.items()},
                    },
                    "method": "GET",
                    "querystring": "",
                    "uri": uri,
                },
            }
        }]
    }


def put_license(dynamodb, key: str, customer_id: str, *, status: str = "active",
                expires_at: str | None = None, license_id: str | None = None, product_id: str = "app") -> None:
    """A licences-table item exactly as the contract shapes it (written directly, to reach
    states the API refuses to create, such as a licence that has already expired)."""

    item = {
        "keyHash": {"S": hashlib.sha256(key.encode()).hexdigest()},
        "licenseId": {"S": license_id or str(uuid.uuid4())},
        "customerId": {"S": customer_id},
        "productId": {"S": product_id},
        "status": {"S": status},
        "seats": {"N": "1"},
        "createdAt": {"S": "2025-01-01T00:00:00Z"},
    }
    if expires_at is not None:
        item["expiresAt"] = {"S": expires_at}
    if status == "revoked":
        item["revokedAt"] = {"S": "2025-02-01T00:00:00Z"}
    dynamodb.put_item(TableName=LICENSES_TABLE, Item=item)
