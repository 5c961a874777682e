"""Property-based tests: random and malformed events never break a handler, never get a
5xx for client input, and the rules (ids, paths, idempotency, the edge check) hold for
every input hypothesis can find. TAP_HYPOTHESIS_EXAMPLES scales the number of examples."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.functions.conftest import (
    CONTEXT,
    DOWNLOAD_PATH_PREFIX,
    PROPERTY,
    SEQUENCE_PROPERTY,
    api_event,
    call,
    empty_analytics_table,
    put_license,
    viewer_request,
)

IDENTIFIER = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
RESOURCES = ["/licenses", "/licenses/validate", "/licenses/{licenseId}", "/customers/{customerId}/licenses",
             "/downloads", "/usage", "/customers/{customerId}/usage"]
ERROR_CODES = {"bad_request", "missing_body", "invalid_json", "invalid_body", "unexpected_body", "body_too_large",
               "unknown_route", "method_not_allowed", "missing_field", "unknown_field", "invalid_field",
               "invalid_path_parameter", "unknown_license", "invalid_license", "event_conflict"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
identifiers = st.from_regex(IDENTIFIER, fullmatch=True) | st.text(max_size=12)
offsets = st.integers(-23 * 60, 23 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
timestamps = st.one_of(
    st.datetimes(timezones=st.none() | offsets).map(lambda moment: moment.isoformat()),  # years 1 to 9999
    st.datetimes(max_value=datetime(1, 1, 2), timezones=offsets).map(lambda moment: moment.isoformat()),
    st.datetimes(min_value=datetime(9999, 12, 30), timezones=offsets).map(lambda moment: moment.isoformat()),
    st.sampled_from(["2099-01-01T00:00:00Z", "2000-01-01", "2099-13-01", "soon", "", "T"]),
)
valid_fields = {
    "customerId": st.from_regex(IDENTIFIER, fullmatch=True),
    "productId": st.sampled_from(["app", "cli", "sdk"]),
    "eventId": st.uuids().map(str),
    "eventType": st.sampled_from(["download", "install", "activate", "heartbeat", "uninstall"]),
    "seats": st.integers(-2, 2_000_000) | st.booleans(),
    "expiresAt": timestamps,
    "timestamp": timestamps,
    "metadata": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    "licenseKey": st.text(min_size=1, max_size=40),
    "path": st.text(max_size=40),
}


@st.composite
def near_valid_bodies(draw) -> dict:
    """Bodies close to what some route expects, then knocked about: a field dropped, added or retyped."""
    names = draw(st.lists(st.sampled_from(sorted(valid_fields)), max_size=6, unique=True))
    body = {name: draw(valid_fields[name]) for name in names}
    if body and draw(st.booleans()):
        body[draw(st.sampled_from(sorted(body)))] = draw(json_values)
    if draw(st.booleans()):
        body[draw(st.text(max_size=10))] = draw(json_values)
    return body


body_texts = st.one_of(
    st.none(),
    st.text(max_size=60),
    json_values.map(json.dumps),
    near_valid_bodies().map(json.dumps),
    st.integers(16_000, 17_000).map(lambda size: json.dumps({"metadata": "x" * size})),
)


@st.composite
def proxy_events(draw) -> dict:
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]) | st.text(max_size=6))
    resource = draw(st.sampled_from(RESOURCES) | st.text(max_size=20))
    parameters = draw(st.none() | st.dictionaries(st.sampled_from(["customerId", "licenseId"]) | st.text(max_size=4),
                                                  identifiers, max_size=2))
    event = api_event(method, resource, raw_body=draw(body_texts), path_parameters=parameters)
    encoding = draw(st.sampled_from(["plain", "base64", "marked-but-not-base64"]))
    if encoding != "plain" and event["body"] is not None:
        event["isBase64Encoded"] = True
        if encoding == "base64":
            event["body"] = base64.b64encode(event["body"].encode("utf-8", "surrogatepass")).decode()
    return event


def assert_client_answer(answer: dict) -> dict:
    """A well-formed answer that is not a server error; its parsed body."""
    assert answer["headers"] == {"Content-Type": "application/json"}
    body = json.loads(answer["body"])
    assert isinstance(body, dict)
    assert answer["statusCode"] < 500, body
    if answer["statusCode"] >= 400:
        assert body["error"] in ERROR_CODES and isinstance(body["message"], str)
    return body


@pytest.fixture(scope="package")
def api_functions(license_api, usage_tracking) -> dict:
    return {"license_api": license_api, "usage_tracking": usage_tracking}


@pytest.mark.parametrize("function", ["license_api", "usage_tracking"])
@PROPERTY
@given(event=proxy_events())
def test_random_proxy_events_get_a_json_answer_and_never_a_5xx(api_functions, function, event):
    assert_client_answer(api_functions[function].handler(event, CONTEXT))


@pytest.mark.parametrize("function", ["license_api", "usage_tracking"])
@PROPERTY
@given(event=json_values)
def test_arbitrary_values_as_events_are_refused_as_400(api_functions, function, event):
    answer = api_functions[function].handler(event, CONTEXT)
    assert (answer["statusCode"], assert_client_answer(answer)["error"]) == (400, "bad_request")


@PROPERTY
@given(near_valid_bodies())
def test_a_license_is_created_only_from_well_formed_ids(license_api, body):
    status, answer = call(license_api, "POST", "/licenses", body)
    if status == 201:
        assert IDENTIFIER.fullmatch(answer["customerId"]) and IDENTIFIER.fullmatch(answer["productId"])
        assert set(body) <= {"customerId", "productId", "seats", "expiresAt"}
    else:
        assert status == 400 and answer["error"] in ERROR_CODES


@PROPERTY
@given(near_valid_bodies())
def test_a_usage_event_is_accepted_only_with_safe_ids_and_a_known_type(usage_tracking, body):
    status, answer = call(usage_tracking, "POST", "/usage", body)
    if status in (200, 202):
        assert all(IDENTIFIER.fullmatch(body[name]) and "#" not in body[name]
                   for name in ("eventId", "customerId", "productId"))
        assert body["eventType"] in {"download", "install", "activate", "heartbeat"}
    elif status == 409:  # an eventId hypothesis drew before, now with another body
        assert answer["error"] == "event_conflict" and "eventId" in body
    else:
        assert status == 400 and answer["error"] in ERROR_CODES


usage_batches = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(["app", "cli"]), st.sampled_from(["download", "install"])),
    min_size=1, max_size=8,
)


@SEQUENCE_PROPERTY
@given(usage_batches)
def test_retried_events_are_counted_exactly_once(usage_tracking, dynamodb, batch):
    """Events sent in any order, any number of times: each distinct event id counts once."""
    empty_analytics_table(dynamodb)
    customer_id = f"cust-{uuid.uuid4().hex}"
    first_seen: dict[int, tuple[str, str]] = {}
    for number, product, event_type in batch:
        product, event_type = first_seen.setdefault(number, (product, event_type))  # a retry repeats the event
        status, answer = call(usage_tracking, "POST", "/usage", {
            "eventId": f"{customer_id}-{number}", "customerId": customer_id,
            "productId": product, "eventType": event_type})
        assert (status, answer["duplicate"]) in {(202, False), (200, True)}
    expected = Counter(first_seen.values())
    _, summary = call(usage_tracking, "GET", "/customers/{customerId}/usage", path_parameters={"customerId": customer_id})
    assert {(p, t): n for p, types in summary["usage"].items() for t, n in types.items()} == dict(expected)


@pytest.fixture(scope="module")
def download_license(license_api) -> tuple[str, str]:
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    _, created = call(license_api, "POST", "/licenses", {"customerId": customer_id, "productId": "app"})
    return created["licenseKey"], customer_id


@PROPERTY
@given(st.text(max_size=60) | st.from_regex(r"[a-z0-9./ ?#%-]{1,30}", fullmatch=True)
       | st.builds("app/".__add__, st.from_regex(r"[a-z0-9./ ?#%-]{1,30}", fullmatch=True)))
def test_a_signed_url_never_leaves_the_download_prefix(license_api, download_license, path):
    key, customer_id = download_license
    status, body = call(license_api, "POST", "/downloads", {"licenseKey": key, "customerId": customer_id, "path": path})
    if status == 403:  # a well-formed path outside the licence's product
        assert body["reason"] == "wrong_product" and not path.startswith("app/")
        return
    if status != 200:
        assert (status, body["error"]) == (400, "invalid_field")
        return
    assert path.startswith("app/")
    url = urlsplit(body["url"])
    assert unquote(url.path) == f"{DOWNLOAD_PATH_PREFIX}/{path}"
    assert ".." not in url.path.split("/") and not url.fragment
    assert set(url.query.split("&")[0].split("=")[:1]) == {"Expires"}


@pytest.fixture(scope="module")
def edge_license(dynamodb) -> tuple[str, str]:
    key, customer_id = f"key-{uuid.uuid4().hex}", f"cust-{uuid.uuid4().hex[:8]}"
    put_license(dynamodb, key, customer_id)
    return key, customer_id


header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda name: name not in ("x-license-key", "x-customer-id", "host", "user-agent"))


@PROPERTY
@given(data=st.data())
def test_the_edge_lets_a_request_through_only_with_the_exact_license(license_verify, edge_license, data):
    key, customer_id = edge_license
    sent_key = data.draw(st.just(key) | st.text(max_size=80) | st.just(key.upper()) | st.just(key + " "))
    sent_customer = data.draw(st.just(customer_id) | identifiers)
    headers = {"X-License-Key": sent_key, "X-Customer-Id": sent_customer}
    for name in data.draw(st.lists(st.sampled_from(list(headers)), max_size=2, unique=True)):
        del headers[name]
    headers.update(data.draw(st.dictionaries(header_names, st.text(max_size=20), max_size=3)))
    event = viewer_request(headers)
    answer = license_verify.handler(event, CONTEXT)
    if headers.get("X-License-Key") == key and headers.get("X-Customer-Id") == customer_id:
        assert answer is event["Records"][0]["cf"]["request"]
        assert "x-license-key" not in answer["headers"] and "x-customer-id" not in answer["headers"]
    else:
        assert answer["status"] == "403"


@PROPERTY
@given(json_values | st.builds(lambda request: {"Records": [{"cf": {"request": request}}]}, json_values))
def test_the_edge_refuses_anything_that_is_not_a_viewer_request(license_verify, event):
    assert license_verify.handler(event, CONTEXT)["status"] == "403"
