"""API Gateway's request models and the functions' own checks agree.

API Gateway validates bodies before a function runs; if a model were stricter
than its function, valid requests would be turned away at the gateway, and if it
were looser on structure, clients would see two kinds of 400. Each body below
goes through both: the model (JSON schema draft 4, as API Gateway applies it)
and the real handler against moto.
"""

from __future__ import annotations

import jsonschema
import pytest

from tap.systems.distribution import api as api_stack
from tests.functions.conftest import call

CUSTOMER = "models-customer"
FIELD_ERRORS = {"invalid_field", "missing_field", "unknown_field"}


def model_accepts(schema: dict, body: dict) -> bool:
    return jsonschema.Draft4Validator(schema).is_valid(body)


def function_accepts(status: int, answer: dict) -> bool:
    """Accepted input: anything but a 400 about the body's fields."""
    return not (status == 400 and answer.get("error") in FIELD_ERRORS)


CREATE_BODIES = [
    ({"customerId": CUSTOMER, "productId": "app"}, True),
    ({"customerId": CUSTOMER, "productId": "app", "seats": 5, "expiresAt": "2099-01-01T00:00:00Z"}, True),
    ({"customerId": CUSTOMER, "productId": "app", "seats": None, "expiresAt": None}, True),
    ({"customerId": "a.b_c:d@e-f", "productId": "x" * 128}, True),
    ({"customerId": CUSTOMER}, False),
    ({"customerId": CUSTOMER, "productId": "app", "colour": "red"}, False),
    ({"customerId": "has#hash", "productId": "app"}, False),
    ({"customerId": "", "productId": "app"}, False),
    ({"customerId": CUSTOMER, "productId": "x" * 129}, False),
    ({"customerId": 7, "productId": "app"}, False),
    ({"customerId": CUSTOMER, "productId": "app", "seats": 0}, False),
    ({"customerId": CUSTOMER, "productId": "app", "seats": 1_000_001}, False),
    ({"customerId": CUSTOMER, "productId": "app", "seats": "5"}, False),
    ({"customerId": CUSTOMER, "productId": "app", "expiresAt": 20990101}, False),
]


@pytest.mark.parametrize("body,valid", CREATE_BODIES)
def test_create_license_model_and_function_agree(license_api, body, valid):
    status, answer = call(license_api, "POST", "/licenses", body)
    assert function_accepts(status, answer) is valid, answer
    assert model_accepts(api_stack.CREATE_LICENSE, body) is valid


VALIDATE_BODIES = [
    ({"licenseKey": "unknown-key", "customerId": CUSTOMER}, True),
    ({"licenseKey": "~" * 256, "customerId": CUSTOMER}, True),
    ({"licenseKey": "k" * 257, "customerId": CUSTOMER}, False),
    ({"licenseKey": "with space", "customerId": CUSTOMER}, False),
    ({"licenseKey": "k"}, False),
    ({"licenseKey": "k", "customerId": CUSTOMER, "extra": 1}, False),
]


@pytest.mark.parametrize("body,valid", VALIDATE_BODIES)
def test_validate_license_model_and_function_agree(license_api, body, valid):
    status, answer = call(license_api, "POST", "/licenses/validate", body)
    assert function_accepts(status, answer) is valid, answer
    assert model_accepts(api_stack.VALIDATE_LICENSE, body) is valid


DOWNLOAD_BODIES = [
    ({"licenseKey": "unknown-key", "customerId": CUSTOMER, "path": "app/1.0/setup.exe"}, True),
    ({"licenseKey": "unknown-key", "customerId": CUSTOMER}, False),
    ({"licenseKey": "unknown-key", "customerId": CUSTOMER, "path": ""}, False),
    ({"licenseKey": "unknown-key", "customerId": CUSTOMER, "path": "p" * 1025}, False),
]


@pytest.mark.parametrize("body,valid", DOWNLOAD_BODIES)
def test_issue_download_model_and_function_agree(license_api, body, valid):
    status, answer = call(license_api, "POST", "/downloads", body)
    assert function_accepts(status, answer) is valid, answer
    assert model_accepts(api_stack.ISSUE_DOWNLOAD, body) is valid


USAGE_BODIES = [
    ({"eventId": "m-1", "customerId": CUSTOMER, "productId": "app", "eventType": "install"}, True),
    ({"eventId": "m-2", "customerId": CUSTOMER, "productId": "app", "eventType": "heartbeat",
      "timestamp": "2025-06-01T12:00:00Z", "metadata": {"os": "linux"}}, True),
    ({"eventId": "m-3", "customerId": CUSTOMER, "productId": "app", "eventType": "download",
      "timestamp": None, "metadata": None}, True),
    ({"eventId": "m-4", "customerId": CUSTOMER, "productId": "app", "eventType": "uninstall"}, False),
    ({"eventId": "m#5", "customerId": CUSTOMER, "productId": "app", "eventType": "install"}, False),
    ({"eventId": "m-6", "customerId": CUSTOMER, "productId": "app"}, False),
    ({"eventId": "m-7", "customerId": CUSTOMER, "productId": "app", "eventType": "install",
      "metadata": ["not", "an", "object"]}, False),
    ({"eventId": "m-8", "customerId": CUSTOMER, "productId": "app", "eventType": "install",
      "source": "x"}, False),
]


@pytest.mark.parametrize("body,valid", USAGE_BODIES)
def test_usage_event_model_and_function_agree(usage_tracking, body, valid):
    status, answer = call(usage_tracking, "POST", "/usage", body)
    assert function_accepts(status, answer) is valid, answer
    assert model_accepts(api_stack.USAGE_EVENT, body) is valid
