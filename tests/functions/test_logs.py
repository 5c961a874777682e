"""Logs are one JSON object per line and never hold a licence key or the signing key."""

from __future__ import annotations

import json
import uuid

from tests.functions.conftest import CONTEXT, call, viewer_request


def logged_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_license_lifecycle_logs_json_lines_without_the_key(license_api, edge, capsys, signing_key):
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    _, created = call(license_api, "POST", "/licenses", {"customerId": customer_id, "productId": "app"})
    key = created["licenseKey"]
    call(license_api, "POST", "/licenses/validate", {"licenseKey": key, "customerId": customer_id})
    call(license_api, "POST", "/downloads", {"licenseKey": key, "customerId": customer_id, "path": "a.zip"})
    edge.handler(viewer_request({"X-License-Key": key, "X-Customer-Id": customer_id}), CONTEXT)
    edge.handler(viewer_request({"X-License-Key": key, "X-Customer-Id": "cust-other"}), CONTEXT)
    call(license_api, "DELETE", "/licenses/{licenseId}", path_parameters={"licenseId": created["licenseId"]})
    call(license_api, "POST", "/licenses/validate", {"licenseKey": key, "customerId": customer_id})
    output = capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) >= 8
    assert all({"level", "message"} <= line.keys() for line in lines)
    assert key not in output
    assert "PRIVATE KEY" not in output


def test_each_api_request_logs_its_route_status_and_request_id(usage_tracking, capsys):
    call(usage_tracking, "GET", "/customers/{customerId}/usage", path_parameters={"customerId": "c-1"})
    request_line = logged_lines(capsys)[-1]
    assert request_line == {"level": "INFO", "message": "request", "requestId": CONTEXT.aws_request_id,
                            "route": "GET /customers/{customerId}/usage", "status": 200, "error": None}


def test_a_key_passed_to_the_logger_by_mistake_is_masked(license_api, capsys):
    import json_log

    json_log.info("oops", licenseKey="secret-key-value")
    assert logged_lines(capsys) == [{"level": "INFO", "message": "oops", "licenseKey": "[masked]"}]
