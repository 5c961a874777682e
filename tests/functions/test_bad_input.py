"""Whatever a client sends wrong gets a 4xx JSON error naming the problem; never a 500."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from tests.functions.conftest import CONTEXT, api_event, call

MAX_BODY = 16 * 1024
VALID_CREATE = {"customerId": "cust-1", "productId": "app"}
VALID_USAGE = {"eventId": "evt-1", "customerId": "cust-1", "productId": "app", "eventType": "install"}


def raw(function, method: str, resource: str, text: str | None, **options) -> tuple[int, dict]:
    return call(function, method, resource, raw_body=text, **options)


# ---- the body --------------------------------------------------------------------------------

BODY_CASES = [
    ("{", 400, "invalid_json"),
    ("", 400, "missing_body"),
    (None, 400, "missing_body"),
    ("[]", 400, "invalid_body"),
    ('"text"', 400, "invalid_body"),
    ("null", 400, "invalid_body"),
    ('{"customerId": "a", "customerId": "b", "productId": "app"}', 400, "invalid_json"),
    ('{"customerId": "a", "productId": "app", "seats": NaN}', 400, "invalid_json"),
    ('{"customerId": "a", "productId": "app", "seats": Infinity}', 400, "invalid_json"),
    ("[" * 5000 + "]" * 5000, 400, "invalid_json"),
    ('{"metadata": ' + "[" * 32 + "]" * 32 + "}", 400, "invalid_json"),
    ('{"seats": ' + "9" * 5000 + "}", 400, "invalid_json"),
]


@pytest.mark.parametrize(("text", "status", "code"), BODY_CASES)
def test_a_malformed_body_is_refused_by_the_license_api(license_api, text, status, code):
    answer = raw(license_api, "POST", "/licenses", text)
    assert (answer[0], answer[1]["error"]) == (status, code)


@pytest.mark.parametrize(("text", "status", "code"), BODY_CASES)
def test_a_malformed_body_is_refused_by_usage_tracking(usage_tracking, text, status, code):
    answer = raw(usage_tracking, "POST", "/usage", text)
    assert (answer[0], answer[1]["error"]) == (status, code)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"customerId": ', "the body is not valid JSON: Expecting value at line 1 column 16"),
        ('{"a": 1, "a": 2}', "the body is not valid JSON: duplicate key 'a'"),
        ('{"a": NaN}', "the body is not valid JSON: NaN is not a JSON number"),
        ('{"a": ' + "9" * 5000 + "}", "the body holds a number too long to read"),
    ],
)
def test_a_json_error_says_what_and_where(license_api, text, message):
    assert raw(license_api, "POST", "/licenses", text)[1]["message"] == message


def test_a_body_that_is_not_utf8_is_refused(license_api):
    event = api_event("POST", "/licenses")
    event["body"], event["isBase64Encoded"] = base64.b64encode(b"\xff\xfe{}").decode(), True
    answer = license_api.handler(event, CONTEXT)
    assert (answer["statusCode"], json.loads(answer["body"])["error"]) == (400, "invalid_json")


def test_metadata_nested_32_levels_deep_is_accepted(usage_tracking):
    metadata = {"a": [[[]]]}
    for _ in range(31 - 4):
        metadata = {"a": metadata}
    assert raw(usage_tracking, "POST", "/usage", json.dumps({**VALID_USAGE, "eventId": str(uuid.uuid4()),
                                                           "metadata": metadata}))[0] == 202


def test_a_base64_body_is_decoded(license_api):
    status, body = call(license_api, "POST", "/licenses", VALID_CREATE, base64_encoded=True)
    assert status == 201


def test_a_body_marked_base64_that_is_not_is_refused(usage_tracking):
    event = api_event("POST", "/usage", VALID_USAGE)
    event["isBase64Encoded"] = True
    answer = usage_tracking.handler(event, CONTEXT)
    assert (answer["statusCode"], json.loads(answer["body"])["error"]) == (400, "invalid_body")


def padded_usage(size: int) -> str:
    """A valid usage event whose JSON text is exactly `size` bytes."""
    event = {**VALID_USAGE, "eventId": str(uuid.uuid4()), "metadata": {"pad": ""}}
    event["metadata"]["pad"] = "x" * (size - len(json.dumps(event)))
    return json.dumps(event)


def test_a_body_of_exactly_16_kib_is_accepted(usage_tracking):
    text = padded_usage(MAX_BODY)
    assert len(text.encode()) == MAX_BODY
    assert raw(usage_tracking, "POST", "/usage", text)[0] == 202


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_a_body_over_16_kib_is_413(usage_tracking, base64_encoded):
    status, body = raw(usage_tracking, "POST", "/usage", padded_usage(MAX_BODY + 1), base64_encoded=base64_encoded)
    assert (status, body["error"]) == (413, "body_too_large")
    assert "16384" in body["message"]


def test_size_counts_bytes_not_characters(usage_tracking):
    event = {**VALID_USAGE, "metadata": {"pad": "é" * (MAX_BODY // 2)}}
    text = json.dumps(event, ensure_ascii=False)
    assert len(text) < MAX_BODY < len(text.encode())
    assert raw(usage_tracking, "POST", "/usage", text)[0] == 413


# ---- the fields -------------------------------------------------------------------------------

FIELD_CASES = [
    ({"productId": "app"}, "missing_field", "customerId"),
    ({**VALID_CREATE, "color": "red"}, "unknown_field", "allowed: customerId, expiresAt, productId, seats"),
    ({**VALID_CREATE, "customerId": 42}, "invalid_field", "customerId"),
    ({**VALID_CREATE, "customerId": None}, "invalid_field", "customerId"),
    ({**VALID_CREATE, "customerId": ""}, "invalid_field", "customerId"),
    ({**VALID_CREATE, "customerId": "a" * 129}, "invalid_field", "1 to 128 characters"),
    ({**VALID_CREATE, "productId": "app/../x"}, "invalid_field", "productId"),
    ({**VALID_CREATE, "seats": True}, "invalid_field", "seats"),
    ({**VALID_CREATE, "seats": "5"}, "invalid_field", "seats"),
    ({**VALID_CREATE, "seats": 2.5}, "invalid_field", "seats"),
    ({**VALID_CREATE, "seats": 0}, "invalid_field", "from 1 to"),
    ({**VALID_CREATE, "expiresAt": "next tuesday"}, "invalid_field", "ISO 8601"),
    ({**VALID_CREATE, "expiresAt": 1893456000}, "invalid_field", "expiresAt"),
    ({**VALID_CREATE, "expiresAt": "9999-12-31T23:59:59-05:00"}, "invalid_field", "ISO 8601"),  # past year 9999 in UTC
    ({**VALID_CREATE, "expiresAt": "0001-01-01T00:00:00+05:00"}, "invalid_field", "ISO 8601"),
]


@pytest.mark.parametrize(("body", "code", "named"), FIELD_CASES)
def test_a_bad_field_is_refused_naming_it(license_api, body, code, named):
    status, answer = call(license_api, "POST", "/licenses", body)
    assert (status, answer["error"]) == (400, code)
    assert named in answer["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"licenseKey": "k" * 257, "customerId": "c"},
        {"licenseKey": "", "customerId": "c"},
        {"licenseKey": "has space", "customerId": "c"},
        {"licenseKey": ["k"], "customerId": "c"},
        {"licenseKey": "key-000000001", "customerId": "c", "extra": 1},
        {"licenseKey": "key-000000001"},
    ],
)
def test_validate_refuses_a_malformed_request(license_api, body):
    status, answer = call(license_api, "POST", "/licenses/validate", body)
    assert status == 400 and answer["error"] in {"invalid_field", "unknown_field", "missing_field"}


def test_an_optional_field_given_as_null_counts_as_absent(license_api):
    status, body = call(license_api, "POST", "/licenses", {**VALID_CREATE, "expiresAt": None, "seats": None})
    assert (status, body["expiresAt"], body["seats"]) == (201, None, 1)


def test_a_long_unknown_field_name_is_not_echoed_whole(license_api):
    status, body = call(license_api, "POST", "/licenses", {**VALID_CREATE, "x" * 5000: 1})
    assert status == 400 and len(body["message"]) < 200


# ---- routes, methods, path parameters, events ----------------------------------------------------


@pytest.mark.parametrize(
    ("function", "method", "resource", "status", "code"),
    [
        ("license_api", "GET", "/licenses", 405, "method_not_allowed"),
        ("license_api", "PUT", "/licenses/{licenseId}", 405, "method_not_allowed"),
        ("license_api", "POST", "/usage", 404, "unknown_route"),
        ("license_api", "GET", "/", 404, "unknown_route"),
        ("usage_tracking", "DELETE", "/usage", 405, "method_not_allowed"),
        ("usage_tracking", "POST", "/licenses", 404, "unknown_route"),
    ],
)
def test_an_unknown_route_or_method_is_refused(request, function, method, resource, status, code):
    handler = request.getfixturevalue(function)
    answer = call(handler, method, resource, {})
    assert (answer[0], answer[1]["error"]) == (status, code)


def test_method_not_allowed_names_the_allowed_methods(license_api):
    _, body = call(license_api, "GET", "/licenses", None)
    assert body["message"].endswith("allowed: POST")


@pytest.mark.parametrize("customer_id", ["", "a#b", "a/b", "a" * 129, None])
def test_a_bad_path_parameter_is_refused(license_api, usage_tracking, customer_id):
    parameters = None if customer_id is None else {"customerId": customer_id}
    for function, resource in [(license_api, "/customers/{customerId}/licenses"),
                               (usage_tracking, "/customers/{customerId}/usage")]:
        status, body = call(function, "GET", resource, None, parameters)
        assert (status, body["error"]) == (400, "invalid_path_parameter")


def test_a_get_with_a_body_is_refused(usage_tracking):
    status, body = call(usage_tracking, "GET", "/customers/{customerId}/usage", {"x": 1}, {"customerId": "c"})
    assert (status, body["error"]) == (400, "unexpected_body")


@pytest.mark.parametrize("event", [None, [], "text", {}, {"httpMethod": "GET"}, {"resource": "/usage"},
                                   {"httpMethod": "POST", "resource": "/usage", "body": 42},
                                   {"httpMethod": "GET", "resource": "/usage", "pathParameters": {"a": 1}}])
def test_an_event_that_is_not_a_proxy_request_is_400(usage_tracking, event):
    answer = usage_tracking.handler(event, CONTEXT)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"] == "bad_request"
