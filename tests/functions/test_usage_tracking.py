"""Usage tracking against moto: events are stored with a TTL and counted exactly once."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.functions.conftest import ANALYTICS_TABLE, EVENT_TTL_DAYS, call


def usage_event(customer_id: str, **fields) -> dict:
    return {"eventId": str(uuid.uuid4()), "customerId": customer_id, "productId": "app",
            "eventType": "download", **fields}


def post(usage_tracking, event: dict) -> tuple[int, dict]:
    return call(usage_tracking, "POST", "/usage", event)


def summary(usage_tracking, customer_id: str) -> tuple[int, dict]:
    return call(usage_tracking, "GET", "/customers/{customerId}/usage", path_parameters={"customerId": customer_id})


@pytest.fixture
def customer_id() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


def test_a_new_event_is_accepted_with_202(usage_tracking, customer_id):
    event = usage_event(customer_id, timestamp="2025-03-01T12:00:00Z", metadata={"version": "2.1.0"})
    assert post(usage_tracking, event) == (202, {"eventId": event["eventId"], "duplicate": False})


def test_a_repeated_event_id_is_counted_once_and_answered_as_duplicate(usage_tracking, customer_id):
    event = usage_event(customer_id)
    post(usage_tracking, event)
    assert post(usage_tracking, event) == (200, {"eventId": event["eventId"], "duplicate": True})
    assert summary(usage_tracking, customer_id)[1]["usage"] == {"app": {"download": 1}}


def test_summary_totals_by_product_and_event_type(usage_tracking, customer_id):
    for product, event_type, times in [("app", "download", 3), ("app", "install", 2), ("cli", "heartbeat", 1)]:
        for _ in range(times):
            post(usage_tracking, usage_event(customer_id, productId=product, eventType=event_type))
    status, body = summary(usage_tracking, customer_id)
    assert status == 200
    assert body == {"customerId": customer_id,
                    "usage": {"app": {"download": 3, "install": 2}, "cli": {"heartbeat": 1}}}


def test_summary_of_a_customer_without_events_is_empty(usage_tracking, customer_id):
    assert summary(usage_tracking, customer_id) == (200, {"customerId": customer_id, "usage": {}})


def test_the_raw_event_is_stored_with_a_ttl_in_epoch_seconds(usage_tracking, dynamodb, customer_id):
    event = usage_event(customer_id, eventType="activate", metadata={"os": "linux", "seats": [1, 2]})
    before = int(time.time())
    post(usage_tracking, event)
    item = dynamodb.get_item(TableName=ANALYTICS_TABLE,
                             Key={"pk": {"S": f"EVENT#{customer_id}#{event['eventId']}"}, "sk": {"S": "EVENT"}})["Item"]
    ttl = int(item["ttl"]["N"])
    assert before + EVENT_TTL_DAYS * 86_400 <= ttl <= int(time.time()) + EVENT_TTL_DAYS * 86_400
    assert item["customerId"]["S"] == customer_id
    assert json.loads(item["metadata"]["S"]) == {"os": "linux", "seats": [1, 2]}


def test_the_counter_has_the_contract_key(usage_tracking, dynamodb, customer_id):
    post(usage_tracking, usage_event(customer_id, productId="cli", eventType="install"))
    item = dynamodb.get_item(TableName=ANALYTICS_TABLE,
                             Key={"pk": {"S": f"CUSTOMER#{customer_id}"}, "sk": {"S": "USAGE#cli#install"}})["Item"]
    assert item["count"] == {"N": "1"}


def test_a_timestamp_without_offset_is_taken_as_utc(usage_tracking, dynamodb, customer_id):
    event = usage_event(customer_id, timestamp="2025-03-01T12:00:00")
    post(usage_tracking, event)
    item = dynamodb.get_item(TableName=ANALYTICS_TABLE,
                             Key={"pk": {"S": f"EVENT#{customer_id}#{event['eventId']}"}, "sk": {"S": "EVENT"}})["Item"]
    assert item["timestamp"]["S"] == "2025-03-01T12:00:00Z"


@pytest.mark.parametrize("field", ["eventId", "customerId", "productId"])
def test_an_id_with_a_key_separator_is_refused(usage_tracking, customer_id, field):
    status, body = post(usage_tracking, usage_event(customer_id, **{field: "app#install"}))
    assert (status, body["error"]) == (400, "invalid_field")
    assert field in body["message"]


def test_an_unknown_event_type_is_refused_naming_the_allowed_ones(usage_tracking, customer_id):
    status, body = post(usage_tracking, usage_event(customer_id, eventType="uninstall"))
    assert status == 400
    assert "download, install, activate, heartbeat" in body["message"]


def test_a_refused_event_changes_no_counter(usage_tracking, customer_id):
    post(usage_tracking, usage_event(customer_id, metadata="not an object"))
    assert summary(usage_tracking, customer_id)[1]["usage"] == {}


# ---- idempotency per customer, conflicts and timestamp bounds ----------------------------------


def test_the_same_event_id_from_two_customers_counts_for_each(usage_tracking):
    a, b = f"cust-{uuid.uuid4().hex[:12]}", f"cust-{uuid.uuid4().hex[:12]}"
    event_id = str(uuid.uuid4())
    for customer in (a, b):
        assert post(usage_tracking, usage_event(customer, eventId=event_id))[0] == 202
    for customer in (a, b):
        assert summary(usage_tracking, customer)[1]["usage"] == {"app": {"download": 1}}


@pytest.mark.parametrize(("change", "named"), [
    ({"eventType": "install"}, "eventType"),
    ({"productId": "cli"}, "productId"),
    ({"metadata": {"version": "9"}}, "metadata"),
    ({"timestamp": "2025-03-02T00:00:00Z"}, "timestamp"),
])
def test_a_retry_with_another_body_is_a_409_naming_the_conflict(usage_tracking, customer_id, change, named):
    event = usage_event(customer_id, timestamp="2025-03-01T00:00:00Z", metadata={"version": "1"})
    assert post(usage_tracking, event)[0] == 202
    status, answer = post(usage_tracking, {**event, **change})
    assert (status, answer["error"]) == (409, "event_conflict")
    assert f"a different {named};" in answer["message"] and event["eventId"] in answer["message"]
    assert summary(usage_tracking, customer_id)[1]["usage"] == {"app": {"download": 1}}


def test_a_true_retry_is_a_duplicate_even_written_differently(usage_tracking, customer_id):
    """The same moment with another offset, the same metadata with keys in another order."""
    event = usage_event(customer_id, timestamp="2025-03-01T12:00:00Z", metadata={"a": 1, "b": 2})
    assert post(usage_tracking, event)[0] == 202
    retry = {**event, "timestamp": "2025-03-01T13:00:00+01:00", "metadata": {"b": 2, "a": 1}}
    assert post(usage_tracking, retry) == (200, {"eventId": event["eventId"], "duplicate": True})


def test_a_retry_without_a_timestamp_is_a_duplicate_though_it_arrives_later(usage_tracking, customer_id):
    event = usage_event(customer_id)
    assert post(usage_tracking, event)[0] == 202
    time.sleep(1.1)  # a later arrival: the arrival time is not part of the event
    assert post(usage_tracking, event)[0] == 200


def in_hours(hours: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("timestamp", "says"), [
    (lambda: in_hours(25), "more than a day in the future"),
    (lambda: "2019-12-31T23:59:59Z", "before 2020-01-01T00:00:00Z, the earliest allowed"),
])
def test_a_timestamp_out_of_bounds_is_a_400_saying_which_bound(usage_tracking, customer_id, timestamp, says):
    status, answer = post(usage_tracking, usage_event(customer_id, timestamp=timestamp()))
    assert (status, answer["error"]) == (400, "invalid_field")
    assert says in answer["message"] and "'timestamp'" in answer["message"]
    assert summary(usage_tracking, customer_id)[1]["usage"] == {}


@pytest.mark.parametrize("timestamp", [lambda: in_hours(23), lambda: "2020-01-01T00:00:00Z"])
def test_a_timestamp_within_bounds_is_accepted(usage_tracking, customer_id, timestamp):
    assert post(usage_tracking, usage_event(customer_id, timestamp=timestamp()))[0] == 202
