"""Faults on our side: a failing AWS dependency is a 503 (retry), anything else a 500;
neither answer carries internal detail, and nothing is half-done."""

from __future__ import annotations

import json
import sys
import uuid

import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import serialization

from tests.functions.conftest import call, pem

VALID_USAGE = {"customerId": "cust-failures", "productId": "app", "eventType": "heartbeat"}


def test_license_api_answers_503_when_dynamodb_throttles(license_api):
    with Stubber(license_api._licenses._dynamodb) as stubber:
        stubber.add_client_error("put_item", "ProvisionedThroughputExceededException", http_status_code=400)
        status, body = call(license_api, "POST", "/licenses", {"customerId": "c", "productId": "app"})
    assert (status, body) == (503, {"error": "service_unavailable", "message": "try again shortly"})


def test_license_api_answers_500_without_detail_on_a_non_transient_error(license_api):
    with Stubber(license_api._licenses._dynamodb) as stubber:
        stubber.add_client_error("get_item", "AccessDeniedException", "User: arn:aws:iam::123:role/x is not authorized")
        status, body = call(license_api, "POST", "/licenses/validate", {"licenseKey": "k" * 20, "customerId": "c"})
    assert status == 500
    assert "arn:aws" not in json.dumps(body) and "AccessDenied" not in json.dumps(body)


def test_a_usage_event_whose_transaction_fails_is_not_counted_and_a_retry_counts_it_once(usage_tracking):
    event = {**VALID_USAGE, "eventId": str(uuid.uuid4()), "customerId": f"cust-{uuid.uuid4().hex[:8]}"}
    with Stubber(usage_tracking._usage._dynamodb) as stubber:
        stubber.add_client_error(
            "transact_write_items", "TransactionCanceledException", http_status_code=400,
            response_meta={}, modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
        )
        assert call(usage_tracking, "POST", "/usage", event)[0] == 503
    assert call(usage_tracking, "POST", "/usage", event)[0] == 202
    assert call(usage_tracking, "POST", "/usage", event)[0] == 200
    _, summary = call(usage_tracking, "GET", "/customers/{customerId}/usage",
                      path_parameters={"customerId": event["customerId"]})
    assert summary["usage"] == {"app": {"heartbeat": 1}}


# ---- the signing key --------------------------------------------------------------------------


@pytest.fixture
def fresh_signing_key(license_api, monkeypatch):
    """The licence API's key source with nothing fetched yet, as in a cold container."""
    monkeypatch.setattr(license_api._signing_key, "_key", None)
    return license_api._signing_key


def licensed_download(license_api) -> tuple[int, dict]:
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    _, created = call(license_api, "POST", "/licenses", {"customerId": customer_id, "productId": "app"})
    return call(license_api, "POST", "/downloads",
                {"licenseKey": created["licenseKey"], "customerId": customer_id, "path": "app/app.zip"})


def test_the_signing_key_is_fetched_once_per_container(license_api, fresh_signing_key):
    assert licensed_download(license_api)[0] == 200
    with Stubber(fresh_signing_key._secrets) as no_calls_allowed:
        assert licensed_download(license_api)[0] == 200
        no_calls_allowed.assert_no_pending_responses()


def test_an_unreachable_secret_is_503_and_is_fetched_again_next_time(license_api, fresh_signing_key):
    with Stubber(fresh_signing_key._secrets) as stubber:
        stubber.add_client_error("get_secret_value", "InternalServiceError", http_status_code=500)
        assert licensed_download(license_api)[0] == 503
    assert licensed_download(license_api)[0] == 200


def signing_key_module():
    return sys.modules["signing_key"]


@pytest.mark.parametrize("form", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL])
def test_pkcs1_and_pkcs8_keys_both_load(license_api, signing_key, form):
    loaded = signing_key_module().load_private_key(pem(signing_key, form))
    assert loaded.n == signing_key.private_numbers().public_numbers.n


@pytest.mark.parametrize("secret", ["", "not a key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
                                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"])
def test_an_unreadable_key_is_an_error_that_quotes_nothing(license_api, secret):
    module = signing_key_module()
    with pytest.raises(module.SigningKeyError) as raised:
        module.load_private_key(secret)
    assert "AAAA" not in str(raised.value)


def test_an_ec_key_is_refused(license_api):
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    module = signing_key_module()
    with pytest.raises(module.SigningKeyError, match="not an RSA key"):
        module.load_private_key(pem(key, serialization.PrivateFormat.PKCS8))
