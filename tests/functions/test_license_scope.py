"""A licence grants its own product only, and only a record the code understands: at the edge
and in URL signing, against moto."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.functions.conftest import (
    CONTEXT,
    LICENSES_TABLE,
    call,
    put_license,
    viewer_request,
)

FUTURE = "2099-01-01T00:00:00Z"


@pytest.fixture
def cli_license(dynamodb) -> tuple[str, str]:
    """An active licence for product `cli`: (key, customer id)."""
    key, customer_id = f"key-{uuid.uuid4().hex}", f"cust-{uuid.uuid4().hex[:12]}"
    put_license(dynamodb, key, customer_id, expires_at=FUTURE, product_id="cli")
    return key, customer_id


def at_edge(edge, key: str, customer_id: str, uri: str) -> dict:
    return edge.handler(viewer_request({"x-license-key": key, "x-customer-id": customer_id}, uri), CONTEXT)


def download(license_api, key: str, customer_id: str, path: str) -> tuple[int, dict]:
    return call(license_api, "POST", "/downloads", {"licenseKey": key, "customerId": customer_id, "path": path})


# ---- product binding ---------------------------------------------------------------------------


def test_the_edge_lets_a_license_reach_its_own_product(edge, cli_license):
    passed = at_edge(edge, *cli_license, "/cli/3.0/cli-linux-x64.tar.gz")
    assert "status" not in passed and passed["uri"] == "/cli/3.0/cli-linux-x64.tar.gz"


@pytest.mark.parametrize("uri", [
    "/studio/3.0/studio.tar.gz",     # another product
    "/cli",                          # the product's folder itself, no object
    "/cli.tar.gz",                   # an object outside every product
    "/cli/../studio/3.0/x.tar.gz",   # climbing out of the product
    "/cli%2F..%2Fstudio/x.tar.gz",   # the same, percent-encoded as S3 would decode it
    "/clix/1.0/a.zip",               # a product whose name merely starts the same
    "//cli/1.0/a.zip",
])
def test_the_edge_refuses_a_path_outside_the_license_s_product(edge, cli_license, uri):
    refused = at_edge(edge, *cli_license, uri)
    other_refusal = edge.handler(viewer_request({"x-license-key": "unknown-key", "x-customer-id": "x"}), CONTEXT)
    assert refused == other_refusal  # the same 403 and body as any refusal at the edge
    assert refused["status"] == "403"


def test_a_percent_encoded_path_of_the_product_passes(edge, cli_license):
    assert "status" not in at_edge(edge, *cli_license, "/c%6Ci/3.0/a%20b.zip")


def test_url_signing_refuses_a_path_outside_the_license_s_product(license_api, cli_license):
    key, customer_id = cli_license
    status, answer = download(license_api, key, customer_id, "studio/3.0/studio.tar.gz")
    assert status == 403
    assert answer == {"error": "invalid_license", "message": "the licence does not allow downloads",
                      "reason": "wrong_product"}


@pytest.mark.parametrize("path", ["cli.tar.gz", "clix/1.0/a.zip"])
def test_url_signing_refuses_an_object_outside_every_product(license_api, cli_license, path):
    assert download(license_api, *cli_license, path)[1].get("reason") == "wrong_product"


def test_url_signing_serves_the_license_s_own_product(license_api, cli_license):
    status, answer = download(license_api, *cli_license, "cli/3.0/cli-linux-x64.tar.gz")
    assert status == 200 and "/signed/cli/3.0/cli-linux-x64.tar.gz?" in answer["url"]


# ---- records the code does not understand fail closed ------------------------------------------


def odd_item(key: str, customer_id: str, **changes) -> dict:
    """A licence item as the contract shapes it, with attributes replaced (None removes)."""
    item = {
        "keyHash": {"S": hashlib.sha256(key.encode()).hexdigest()},
        "licenseId": {"S": str(uuid.uuid4())},
        "customerId": {"S": customer_id},
        "productId": {"S": "app"},
        "status": {"S": "active"},
        "seats": {"N": "1"},
        "createdAt": {"S": "2025-01-01T00:00:00Z"},
    }
    for name, value in changes.items():
        if value is None:
            item.pop(name)
        else:
            item[name] = value
    return item


ODD_RECORDS = {
    "expiry-as-number": {"expiresAt": {"N": "1735689600"}},
    "expiry-not-a-date": {"expiresAt": {"S": "next year"}},
    "expiry-null": {"expiresAt": {"NULL": True}},
    "no-status": {"status": None},
    "status-unknown": {"status": {"S": "ACTIVE"}},
    "status-as-bool": {"status": {"BOOL": True}},
    "customer-as-number": {"customerId": {"N": "42"}},
    "no-product": {"productId": None},
    "no-licence-id": {"licenseId": None},
}


@pytest.fixture(params=sorted(ODD_RECORDS))
def odd_license(request, dynamodb) -> tuple[str, str]:
    key, customer_id = f"key-{uuid.uuid4().hex}", f"cust-{uuid.uuid4().hex[:12]}"
    dynamodb.put_item(TableName=LICENSES_TABLE, Item=odd_item(key, customer_id, **ODD_RECORDS[request.param]))
    return key, customer_id


def test_the_edge_refuses_a_record_it_does_not_understand(edge, odd_license):
    assert at_edge(edge, *odd_license, "/app/1.0/app.zip")["status"] == "403"


def test_validation_reports_a_record_it_does_not_understand(license_api, odd_license):
    key, customer_id = odd_license
    status, answer = call(license_api, "POST", "/licenses/validate", {"licenseKey": key, "customerId": customer_id})
    assert (status, answer) == (200, {"valid": False, "reason": "unreadable_license"})


def test_url_signing_refuses_a_record_it_does_not_understand(license_api, odd_license):
    status, answer = download(license_api, *odd_license, "app/1.0/app.zip")
    assert (status, answer["reason"]) == (403, "unreadable_license")


def test_listing_shows_an_unreadable_record_as_such_instead_of_failing(license_api, dynamodb):
    customer_id = f"cust-{uuid.uuid4().hex[:12]}"
    dynamodb.put_item(TableName=LICENSES_TABLE, Item=odd_item(
        "odd-list-key", customer_id, expiresAt={"N": "1735689600"}, seats={"S": "five"}))
    status, answer = call(license_api, "GET", "/customers/{customerId}/licenses", None, {"customerId": customer_id})
    assert status == 200
    (shown,) = answer["licenses"]
    assert (shown["status"], shown["expiresAt"], shown["seats"]) == ("unreadable", None, None)
