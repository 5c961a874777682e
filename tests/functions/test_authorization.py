"""Who may call what, on the handlers against moto: operator routes only for the named IAM
principals, customer routes only for the customer whose API key calls them."""

from __future__ import annotations

import uuid

import boto3
import pytest

from tests.functions.conftest import (
    ACCOUNT,
    CONTEXT,
    EARLIEST_EVENT_TIME,
    OPERATOR_CALLER_ARN,
    REGION,
    api_event,
    call,
    customer_identity,
    load_function,
    operator_identity,
)

OTHER_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/developer/session"
OTHER_ACCOUNT = "arn:aws:sts::210987654321:assumed-role/tap-operator/session"


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


def create_license(license_api, customer_id: str, product_id: str = "app") -> dict:
    status, created = call(license_api, "POST", "/licenses", {"customerId": customer_id, "productId": product_id})
    assert status == 201
    return created


OPERATOR_REQUESTS = [
    ("license_api", "POST", "/licenses", {"customerId": "acme", "productId": "app"}, None),
    ("license_api", "GET", "/customers/{customerId}/licenses", None, {"customerId": "acme"}),
    ("license_api", "DELETE", "/licenses/{licenseId}", None, {"licenseId": str(uuid.uuid4())}),
    ("usage_tracking", "GET", "/customers/{customerId}/usage", None, {"customerId": "acme"}),
]


@pytest.mark.parametrize(("function", "method", "resource", "body", "parameters"), OPERATOR_REQUESTS)
@pytest.mark.parametrize("caller", ["customer-key", "unnamed-role", "other-account", "anonymous"])
def test_operator_routes_refuse_everyone_but_the_named_operators(
    request, function, method, resource, body, parameters, caller
):
    handler = request.getfixturevalue(function)
    identity = {
        "customer-key": lambda: customer_identity("acme"),
        "unnamed-role": lambda: operator_identity(OTHER_ROLE),  # signed, but not named
        "other-account": lambda: operator_identity(OTHER_ACCOUNT),  # the named role's name elsewhere
        "anonymous": dict,
    }[caller]()
    status, answer = call(handler, method, resource, body, parameters, identity=identity)
    assert (status, answer["error"]) == (403, "forbidden")
    assert "operator route" in answer["message"]


@pytest.mark.parametrize(("function", "method", "resource", "body", "parameters"), OPERATOR_REQUESTS)
def test_operator_routes_serve_the_named_operator(request, function, method, resource, body, parameters):
    handler = request.getfixturevalue(function)
    status, _ = call(handler, method, resource, body, parameters, identity=operator_identity(OPERATOR_CALLER_ARN))
    assert status in (200, 201, 404)  # 404: the random licence id does not exist


def test_account_names_every_principal_of_the_account_and_no_other(
    dynamodb, tmp_path, monkeypatch
):
    for name, value in {"ANALYTICS_TABLE": "analytics", "EVENT_TTL_DAYS": "30",
                        "OPERATOR_PRINCIPALS": "account", "EARLIEST_EVENT_TIME": EARLIEST_EVENT_TIME}.items():
        monkeypatch.setenv(name, value)
    usage = load_function("usage_tracking", tmp_path / "usage_tracking")
    parameters = {"customerId": "acme"}
    assert call(usage, "GET", "/customers/{customerId}/usage", None, parameters,
                identity=operator_identity(OTHER_ROLE))[0] == 200
    assert call(usage, "GET", "/customers/{customerId}/usage", None, parameters,
                identity=operator_identity(OTHER_ACCOUNT))[0] == 403


# ---- customer routes: a key acts only for its own customer ---------------------------------


def test_a_key_of_customer_a_cannot_validate_b_s_license(license_api):
    a, b = customer(), customer()
    license_of_b = create_license(license_api, b)
    status, answer = call(license_api, "POST", "/licenses/validate",
                          {"licenseKey": license_of_b["licenseKey"], "customerId": b},
                          identity=customer_identity(a))
    assert (status, answer["error"]) == (403, "wrong_customer")
    assert "valid" not in answer


def test_a_key_of_customer_a_cannot_download_with_b_s_license(license_api):
    a, b = customer(), customer()
    license_of_b = create_license(license_api, b)
    status, answer = call(license_api, "POST", "/downloads",
                          {"licenseKey": license_of_b["licenseKey"], "customerId": b, "path": "app/1.0/a.zip"},
                          identity=customer_identity(a))
    assert (status, answer["error"]) == (403, "wrong_customer")
    assert "url" not in answer


def test_a_key_of_customer_a_cannot_record_usage_for_b(usage_tracking):
    a, b = customer(), customer()
    event = {"eventId": str(uuid.uuid4()), "customerId": b, "productId": "app", "eventType": "install"}
    status, answer = call(usage_tracking, "POST", "/usage", event, identity=customer_identity(a))
    assert (status, answer["error"]) == (403, "wrong_customer")
    operator = operator_identity()
    assert call(usage_tracking, "GET", "/customers/{customerId}/usage", None, {"customerId": b},
                identity=operator)[1]["usage"] == {}


def test_a_customer_s_own_key_serves_its_own_requests(license_api):
    a = customer()
    license = create_license(license_api, a)
    status, answer = call(license_api, "POST", "/licenses/validate",
                          {"licenseKey": license["licenseKey"], "customerId": a}, identity=customer_identity(a))
    assert (status, answer["valid"]) == (200, True)


def test_a_key_bound_to_no_customer_is_refused(license_api, aws):
    apigateway = boto3.session.Session(region_name=REGION).client("apigateway")
    unbound = apigateway.create_api_key(name="unbound", enabled=True)["id"]
    identity = {"apiKeyId": unbound, "apiKey": "[value]"}
    status, answer = call(license_api, "POST", "/licenses/validate",
                          {"licenseKey": "k" * 20, "customerId": "acme"}, identity=identity)
    assert (status, answer["error"]) == (403, "forbidden")
    assert "not bound to a customer" in answer["message"]


@pytest.mark.parametrize("identity", [{}, operator_identity()], ids=["no-key", "iam-principal"])
def test_customer_routes_need_a_customer_key(license_api, identity):
    """operator_identity() makes no AWS call, so it can be built at collection."""
    status, answer = call(license_api, "POST", "/licenses/validate",
                          {"licenseKey": "k" * 20, "customerId": "acme"}, identity=identity)
    assert (status, answer["error"]) == (403, "forbidden")


def test_a_key_s_customer_is_read_once_per_cache_period(license_api, aws):
    """A key is looked up once, then served from memory; a key that stops existing (deleted)
    cannot act once the cache period ends."""
    keys = license_api._customers
    apigateway = boto3.session.Session(region_name=REGION).client("apigateway")
    key_id = apigateway.create_api_key(name="short-lived", customerId="acme", enabled=True)["id"]
    clock = [1_000.0]
    keys._clock = lambda: clock[0]
    try:
        assert keys.customer_of(key_id) == "acme"
        apigateway.delete_api_key(apiKey=key_id)
        assert keys.customer_of(key_id) == "acme"
        clock[0] += 301
        assert keys.customer_of(key_id) is None
    finally:
        keys._clock = __import__("time").monotonic
        keys._known.clear()


def test_an_event_without_request_context_is_refused_not_served(license_api):
    event = api_event("POST", "/licenses", {"customerId": "acme", "productId": "app"})
    del event["requestContext"]
    answer = license_api.handler(event, CONTEXT)
    assert answer["statusCode"] == 403
