"""The Lambda@Edge licence check against moto: who gets through, who gets 403, and
failing closed (503) when the licences table cannot be read."""

from __future__ import annotations

import copy
import json
import socket
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tests.functions.conftest import (
    CONTEXT,
    EDGE_VALUES,
    REGION,
    FakeClock,
    put_license,
    viewer_request,
)

FUTURE = "2099-01-01T00:00:00Z"
PAST = "2021-01-01T00:00:00Z"


@pytest.fixture
def license(dynamodb) -> tuple[str, str]:
    """A fresh active licence: (key, customer id)."""
    key, customer_id = f"key-{uuid.uuid4().hex}", f"cust-{uuid.uuid4().hex[:12]}"
    put_license(dynamodb, key, customer_id, expires_at=FUTURE)
    return key, customer_id


def check(edge, headers: dict[str, str]) -> dict:
    return edge.handler(viewer_request(headers), CONTEXT)


def licensed(key: str, customer_id: str) -> dict[str, str]:
    return {"X-License-Key": key, "X-Customer-Id": customer_id}


def assert_forbidden(answer: dict) -> None:
    assert answer["status"] == "403"
    assert answer["body"] == "A valid licence is required.\n"
    assert answer["headers"]["content-type"][0]["value"].startswith("text/plain")


@pytest.fixture
def clock(edge, monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(edge._cache, "clock", fake)
    return fake


# ---- who gets through ----------------------------------------------------------------------


def test_a_valid_license_passes_the_request_on_without_the_license_headers(edge, license):
    event = viewer_request(licensed(*license))
    expected = copy.deepcopy(event["Records"][0]["cf"]["request"])
    del expected["headers"]["x-license-key"], expected["headers"]["x-customer-id"]
    assert edge.handler(event, CONTEXT) == expected


def test_a_license_without_expiry_passes(edge, dynamodb):
    put_license(dynamodb, "never-expires-0000001", "cust-forever")
    assert "status" not in check(edge, licensed("never-expires-0000001", "cust-forever"))


@pytest.mark.parametrize("missing", ["X-License-Key", "X-Customer-Id"])
def test_a_missing_header_is_403(edge, license, missing):
    headers = licensed(*license)
    del headers[missing]
    assert_forbidden(check(edge, headers))


def test_an_unknown_key_is_403(edge):
    assert_forbidden(check(edge, licensed("no-such-key-000000", "cust-1")))


@pytest.mark.parametrize("state", [{"status": "revoked", "expires_at": FUTURE}, {"expires_at": PAST}])
def test_a_revoked_or_expired_license_is_403(edge, dynamodb, state):
    put_license(dynamodb, "stale-key-00000001", "cust-stale", **state)
    assert_forbidden(check(edge, licensed("stale-key-00000001", "cust-stale")))


def test_another_customers_license_is_403(edge, license):
    key, _ = license
    assert_forbidden(check(edge, licensed(key, "cust-someone-else")))


@pytest.mark.parametrize("key", ["", " ", "k" * 257, "ключ-лицензии", "tab\there"])
def test_a_malformed_key_is_403(edge, key):
    assert_forbidden(check(edge, licensed(key, "cust-1")))


def test_every_refusal_reads_the_same(edge, dynamodb, license):
    """The body never tells a caller whether a key exists, is revoked or belongs to someone else."""
    put_license(dynamodb, "revoked-key-0000002", "cust-r", status="revoked")
    key, customer_id = license
    answers = [check(edge, h) for h in (
        {}, licensed("unknown-key-000000", customer_id), licensed(key, "cust-other"),
        licensed("revoked-key-0000002", "cust-r"))]
    assert len({(a["status"], a["body"]) for a in answers}) == 1


@pytest.mark.parametrize("event", [{}, None, [], {"Records": []}, {"Records": [{"cf": {}}]},
                                   {"Records": [{"cf": {"request": {"headers": "x"}}}]}])
def test_an_event_that_is_not_a_viewer_request_is_refused(edge, event):
    assert_forbidden(edge.handler(event, CONTEXT))


# ---- the cache --------------------------------------------------------------------------------


def test_a_cached_answer_keeps_the_warm_path_off_dynamodb(edge, license):
    assert "status" not in check(edge, licensed(*license))
    with Stubber(edge._dynamodb) as no_calls_allowed:  # any DynamoDB call would now fail
        assert "status" not in check(edge, licensed(*license))
        no_calls_allowed.assert_no_pending_responses()


def test_an_unknown_key_is_cached_too(edge, dynamodb, clock):
    assert_forbidden(check(edge, licensed("late-key-000000001", "cust-late")))
    put_license(dynamodb, "late-key-000000001", "cust-late")
    assert_forbidden(check(edge, licensed("late-key-000000001", "cust-late")))
    clock.now += EDGE_VALUES["cache_ttl_seconds"]
    assert "status" not in check(edge, licensed("late-key-000000001", "cust-late"))


def test_a_revocation_reaches_the_edge_when_the_cache_entry_expires(edge, dynamodb, license, clock):
    key, customer_id = license
    assert "status" not in check(edge, licensed(key, customer_id))
    put_license(dynamodb, key, customer_id, status="revoked")
    clock.now += EDGE_VALUES["cache_ttl_seconds"] - 1
    assert "status" not in check(edge, licensed(key, customer_id))  # within the TTL: still cached
    clock.now += 1
    assert_forbidden(check(edge, licensed(key, customer_id)))


def test_the_cache_holds_key_hashes_not_keys(edge, license):
    key, customer_id = license
    check(edge, licensed(key, customer_id))
    assert key not in repr(edge._cache._entries)


# ---- failing closed ----------------------------------------------------------------------------


def test_the_lookup_client_is_configured_from_the_rendered_settings(edge):
    config = edge._dynamodb.meta.config
    assert edge._dynamodb.meta.region_name == REGION
    assert config.connect_timeout == config.read_timeout == EDGE_VALUES["lookup_timeout_seconds"]
    assert config.retries["total_max_attempts"] == 1


def client_at(edge, port: int):
    """The edge's own client settings, pointed at a local port, with short timeouts."""
    config = edge._dynamodb.meta.config.merge(Config(connect_timeout=0.2, read_timeout=0.2))
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}", config=config)


def assert_unavailable(answer: dict, capsys, error_type: str) -> None:
    """A 503 with a plain body, caused (says the log) by `error_type`."""
    assert answer["status"] == "503"
    assert answer["body"] == "The licence check is unavailable; please retry.\n"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"message": "licence lookup failed", "errorType": error_type}.items() <= logged[-1].items()


def test_a_refused_connection_fails_closed_with_503(edge, license, monkeypatch, capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        monkeypatch.setattr(edge, "_dynamodb", client_at(edge, port))
        assert_unavailable(check(edge, licensed(*license)), capsys, "EndpointConnectionError")


def test_a_lookup_timeout_fails_closed_with_503(edge, license, monkeypatch, capsys):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel; nothing ever answers
        monkeypatch.setattr(edge, "_dynamodb", client_at(edge, silent.getsockname()[1]))
        assert_unavailable(check(edge, licensed(*license)), capsys, "ReadTimeoutError")


def test_throttling_fails_closed_with_503(edge, license, capsys):
    with Stubber(edge._dynamodb) as stubber:
        stubber.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        assert_unavailable(check(edge, licensed(*license)), capsys, "ProvisionedThroughputExceededException")


def test_a_failed_lookup_is_not_cached(edge, license, capsys):
    with Stubber(edge._dynamodb) as stubber:
        stubber.add_client_error("get_item", "InternalServerError", http_status_code=500)
        assert_unavailable(check(edge, licensed(*license)), capsys, "InternalServerError")
    assert "status" not in check(edge, licensed(*license))
