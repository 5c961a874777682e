"""Usage tracking behind API Gateway (REST, proxy integration).

    POST /usage                          record one event: 202, or 200 {"duplicate": true}
    GET  /customers/{customerId}/usage   counts by product and event type
"""

import os

import boto3

import json_log
import proxy_api
import utc_time
from proxy_api import Request
from request_fields import identifier, json_object, one_of, path_parameter, read_fields, timestamp
from usage_store import UsageEvent, UsageStore

EVENT_TYPES = ("download", "install", "activate", "heartbeat")

_usage = UsageStore(
    boto3.client("dynamodb"), os.environ["ANALYTICS_TABLE"], int(os.environ["EVENT_TTL_DAYS"])
)


def record_usage(request: Request) -> tuple[int, dict]:
    received_at = utc_time.now()
    fields = read_fields(
        request.json_object(),
        required={"eventId": identifier, "customerId": identifier, "productId": identifier,
                  "eventType": one_of(*EVENT_TYPES)},
        optional={"timestamp": timestamp, "metadata": json_object},
    )
    event = UsageEvent(
        event_id=fields["eventId"],
        customer_id=fields["customerId"],
        product_id=fields["productId"],
        event_type=fields["eventType"],
        occurred_at=fields.get("timestamp", received_at),
        metadata=fields.get("metadata", {}),
    )
    if not _usage.record(event, received_at):
        json_log.info("duplicate usage event", eventId=event.event_id)
        return 200, {"eventId": event.event_id, "duplicate": True}
    return 202, {"eventId": event.event_id, "duplicate": False}


def usage_summary(request: Request) -> tuple[int, dict]:
    request.expect_no_body()
    customer_id = path_parameter(request, "customerId")
    return 200, {"customerId": customer_id, "usage": _usage.totals(customer_id)}


ROUTES = {
    ("POST", "/usage"): record_usage,
    ("GET", "/customers/{customerId}/usage"): usage_summary,
}


def handler(event, context):
    return proxy_api.handle(event, context, ROUTES)
