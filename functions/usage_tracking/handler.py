"""Usage tracking behind API Gateway (REST, proxy integration).

    POST /usage                          record one event: 202, or 200 {"duplicate": true}
    GET  /customers/{customerId}/usage   counts by product and event type

Recording is a customer route (the API key's customer must be the event's);
reading a customer's usage is an operator route (IAM, named principals only).
An event's `timestamp` may be at most a day ahead and not before EARLIEST_EVENT_TIME.
"""

import os
from datetime import timedelta

import boto3
import json_log
import proxy_api
import utc_time
from callers import CustomerKeys, Operators
from proxy_api import Request, RequestError
from request_fields import (
    identifier,
    json_object,
    one_of,
    path_parameter,
    read_fields,
    timestamp,
)
from usage_store import EventConflict, UsageEvent, UsageStore

EVENT_TYPES = ("download", "install", "activate", "heartbeat")
MAX_AHEAD = timedelta(days=1)  # clocks drift; a day ahead is a wrong clock, not drift

_usage = UsageStore(
    boto3.client("dynamodb"), os.environ["ANALYTICS_TABLE"], int(os.environ["EVENT_TTL_DAYS"])
)
_operators = Operators(os.environ["OPERATOR_PRINCIPALS"])
_customers = CustomerKeys(boto3.client("apigateway"))
EARLIEST = utc_time.parse_iso(os.environ["EARLIEST_EVENT_TIME"])
if EARLIEST is None:
    raise RuntimeError("environment variable EARLIEST_EVENT_TIME is not an ISO 8601 date and time")


def within_bounds(moment, received_at) -> None:
    """400 for a timestamp before the earliest allowed or more than a day ahead."""
    if moment < EARLIEST:
        raise RequestError(400, "invalid_field",
                           f"field 'timestamp' is before {utc_time.to_iso(EARLIEST)}, the earliest allowed")
    if moment > received_at + MAX_AHEAD:
        raise RequestError(400, "invalid_field",
                           "field 'timestamp' is more than a day in the future; send the time the event happened")


def record_usage(request: Request) -> tuple[int, dict]:
    received_at = utc_time.now()
    fields = read_fields(
        request.json_object(),
        required={"eventId": identifier, "customerId": identifier, "productId": identifier,
                  "eventType": one_of(*EVENT_TYPES)},
        optional={"timestamp": timestamp, "metadata": json_object},
    )
    _customers.require(request, fields["customerId"])
    if "timestamp" in fields:
        within_bounds(fields["timestamp"], received_at)
    event = UsageEvent(
        event_id=fields["eventId"],
        customer_id=fields["customerId"],
        product_id=fields["productId"],
        event_type=fields["eventType"],
        occurred_at=fields.get("timestamp", received_at),
        metadata=fields.get("metadata", {}),
        sent_timestamp=utc_time.to_iso(fields["timestamp"]) if "timestamp" in fields else None,
    )
    try:
        recorded = _usage.record(event, received_at)
    except EventConflict as conflict:
        raise RequestError(
            409, "event_conflict",
            f"event {event.event_id} was already recorded with a different {', '.join(conflict.fields)}; "
            "a retry must send the same body, and a new event needs a new eventId",
        ) from None
    if not recorded:
        json_log.info("duplicate usage event", eventId=event.event_id)
        return 200, {"eventId": event.event_id, "duplicate": True}
    return 202, {"eventId": event.event_id, "duplicate": False}


def usage_summary(request: Request) -> tuple[int, dict]:
    _operators.require(request)
    request.expect_no_body()
    customer_id = path_parameter(request, "customerId")
    return 200, {"customerId": customer_id, "usage": _usage.totals(customer_id)}


ROUTES = {
    ("POST", "/usage"): record_usage,
    ("GET", "/customers/{customerId}/usage"): usage_summary,
}


def handler(event, context):
    return proxy_api.handle(event, context, ROUTES)
